"""The chained architecture: STT -> agent with tools -> TTS on the Agents SDK voice pipeline."""
