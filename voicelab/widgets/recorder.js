// The browser's microphone as a widget: MediaRecorder captures, the browser decodes the
// recording (webm/opus) and sends mono 16-bit PCM WAV bytes to Python, so Python needs no ffmpeg.

const RATE_HZ = 24000; // the realtime protocol's rate; Whisper resamples from it

function wavBytes(samples, rateHz) {
  const buffer = new ArrayBuffer(44 + samples.length * 2);
  const view = new DataView(buffer);
  const text = (offset, s) => [...s].forEach((c, i) => view.setUint8(offset + i, c.charCodeAt(0)));
  text(0, "RIFF");
  view.setUint32(4, 36 + samples.length * 2, true);
  text(8, "WAVEfmt ");
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true); // PCM
  view.setUint16(22, 1, true); // mono
  view.setUint32(24, rateHz, true);
  view.setUint32(28, rateHz * 2, true);
  view.setUint16(32, 2, true);
  view.setUint16(34, 16, true);
  text(36, "data");
  view.setUint32(40, samples.length * 2, true);
  samples.forEach((x, i) => {
    const clipped = Math.max(-1, Math.min(1, x));
    view.setInt16(44 + i * 2, clipped < 0 ? clipped * 0x8000 : clipped * 0x7fff, true);
  });
  return view;
}

async function decodeToWav(blob) {
  // An offline context decodes without a user gesture and resamples to its own rate.
  const context = new OfflineAudioContext(1, 1, RATE_HZ);
  const audio = await context.decodeAudioData(await blob.arrayBuffer());
  return wavBytes(audio.getChannelData(0), audio.sampleRate);
}

export default {
  render({ model, el }) {
    el.classList.add("voicelab-recorder");
    const button = document.createElement("button");
    const status = document.createElement("span");
    button.className = "voicelab-record-button";
    status.className = "voicelab-record-status";
    status.style.marginLeft = "0.6em";
    el.append(button, status);

    let recorder = null;
    let timer = null;
    const idle = (message) => {
      button.textContent = "\u25CF Record";
      button.disabled = false;
      status.textContent = message;
    };
    const fail = (message) => {
      idle(message);
      model.set("error", message);
      model.save_changes();
    };
    idle(model.get("status_text"));

    const start = async () => {
      if (!navigator.mediaDevices || typeof MediaRecorder === "undefined") {
        fail("This browser cannot record: no MediaRecorder (use https or localhost).");
        return;
      }
      let stream;
      try {
        stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      } catch (err) {
        fail(`Microphone refused: ${err.message || err}`);
        return;
      }
      const chunks = [];
      recorder = new MediaRecorder(stream);
      recorder.ondataavailable = (event) => chunks.push(event.data);
      recorder.onstop = async () => {
        clearInterval(timer);
        stream.getTracks().forEach((track) => track.stop());
        button.disabled = true;
        status.textContent = "decoding\u2026";
        try {
          const wav = await decodeToWav(new Blob(chunks, { type: recorder.mimeType }));
          model.set("error", "");
          model.set("wav", wav);
          model.save_changes();
          idle(`recorded ${((wav.byteLength - 44) / 2 / RATE_HZ).toFixed(1)} s`);
        } catch (err) {
          fail(`Could not decode the recording: ${err.message || err}`);
        }
      };
      const started = performance.now();
      recorder.start();
      button.textContent = "\u25A0 Stop";
      timer = setInterval(() => {
        status.textContent = `recording ${((performance.now() - started) / 1000).toFixed(1)} s`;
      }, 100);
    };

    button.addEventListener("click", () => {
      if (recorder && recorder.state === "recording") {
        recorder.stop();
      } else {
        start();
      }
    });
  },
};
