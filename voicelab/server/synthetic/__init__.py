"""The synthetic load backend of ``voicelab serve``: fixed, valid answers with no model work.

``voicelab serve --backend synthetic`` puts these engines where the embedded models usually are,
behind every route and the realtime cascade, so the harness, the runner and the server itself can
be load- and fault-tested in milliseconds. Faults and injected latency apply exactly as on the
local backend; rows and sessions say ``backend = synthetic``.
"""

from voicelab.server.synthetic.audio import SyntheticSpeech, SyntheticTranscriber
from voicelab.server.synthetic.chat import SyntheticChatEngine

__all__ = ["SyntheticChatEngine", "SyntheticSpeech", "SyntheticTranscriber"]
