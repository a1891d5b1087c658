// The camera and microphone check: shows the camera, moves a level meter with the microphone, and says
// clearly what to do when the browser refuses. Nothing leaves the device.
const statusLine = document.getElementById("check-status");
const video = document.getElementById("check-video");
const meter = document.getElementById("check-level");

function say(text, kind) {
  statusLine.textContent = text;
  statusLine.className = kind ? `message ${kind}` : "";
}

function listen(stream) {
  const context = new AudioContext();
  const analyser = context.createAnalyser();
  analyser.fftSize = 512;
  context.createMediaStreamSource(stream).connect(analyser);
  const samples = new Uint8Array(analyser.fftSize);
  const tick = () => {
    analyser.getByteTimeDomainData(samples);
    let peak = 0;
    for (const sample of samples) peak = Math.max(peak, Math.abs(sample - 128) / 128);
    meter.value = peak;
    meter.textContent = peak > 0.02 ? "sound" : "silent";
    requestAnimationFrame(tick);
  };
  tick();
}

async function check() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    say("This browser cannot use a camera here. Use a recent Firefox, Chrome, Edge or Safari.", "error");
    return;
  }
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
    video.srcObject = stream;
    await video.play().catch(() => {});
    listen(stream);
    say("Your camera and microphone work: you should see yourself, and the level should move when you speak.", "success");
  } catch (error) {
    if (error && (error.name === "NotAllowedError" || error.name === "SecurityError")) {
      say("Your browser did not allow the camera and microphone. Allow them for this site (the camera " +
        "symbol in the address bar), then reload this page.", "error");
    } else if (error && error.name === "NotFoundError") {
      say("No camera or microphone was found. Connect one, then reload this page.", "error");
    } else {
      say("The camera or microphone could not be started. Close other programs that use them, then reload.", "error");
    }
  }
}

check();
