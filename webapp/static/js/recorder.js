/* Recording a phrase in the browser (issue #23, the recorded-voice page).
   The page works without it: each phrase's form takes a sound file. Here the
   "Record" button records with the microphone (MediaRecorder, Opus or AAC,
   whatever the browser makes), puts the recording into the form's file field
   and lets the person listen before pressing Save. */
(function () {
  "use strict";
  var list = document.querySelector("[data-recorder]");
  if (!list || !window.MediaRecorder || !navigator.mediaDevices ||
      !navigator.mediaDevices.getUserMedia || !window.DataTransfer) return;
  var LONGEST = 20000;  // ms: a phrase, not a speech (the server takes ≤ 200 KB)
  var TYPES = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/mp4"];
  var type = TYPES.filter(function (t) { return MediaRecorder.isTypeSupported(t); })[0] || "";
  var current = null;

  Array.prototype.forEach.call(list.querySelectorAll("form [data-record]"), function (button) {
    var form = button.form, input = form.querySelector("input[type=file]");
    var preview = form.querySelector("audio.preview"), label = button.querySelector("span");
    button.hidden = false;

    function finish() {
      if (current && current.recorder.state !== "inactive") current.recorder.stop();
    }

    button.addEventListener("click", function () {
      if (current && current.button === button) { finish(); return; }
      finish();
      navigator.mediaDevices.getUserMedia({ audio: true }).then(function (stream) {
        var chunks = [];
        var recorder = new MediaRecorder(stream, type ? { mimeType: type, audioBitsPerSecond: 32000 }
                                                      : { audioBitsPerSecond: 32000 });
        current = { button: button, recorder: recorder };
        recorder.ondataavailable = function (e) { if (e.data.size) chunks.push(e.data); };
        recorder.onstop = function () {
          stream.getTracks().forEach(function (t) { t.stop(); });
          current = null;
          label.textContent = list.getAttribute("data-record");
          var kind = (recorder.mimeType || type || "audio/webm").split(";")[0];
          var ext = kind === "audio/mp4" ? "m4a" : kind.split("/")[1];
          var file = new File(chunks, "phrase." + ext, { type: kind });
          var files = new DataTransfer();
          files.items.add(file);
          input.files = files.files;
          preview.src = URL.createObjectURL(file);
          preview.hidden = false;
        };
        recorder.start();
        label.textContent = list.getAttribute("data-stop");
        setTimeout(function () { if (recorder.state !== "inactive") recorder.stop(); }, LONGEST);
      }).catch(function () {
        var status = document.getElementById("mic-status");
        status.textContent = list.getAttribute("data-no-mic");
        status.hidden = false;
      });
    });
  });
})();
