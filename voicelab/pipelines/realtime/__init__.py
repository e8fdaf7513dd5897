"""The speech-to-speech architecture: one realtime model over the Realtime API protocol."""
