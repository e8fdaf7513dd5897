"""The Realtime WebSocket of ``voicelab serve``: the local models behind the protocol."""
