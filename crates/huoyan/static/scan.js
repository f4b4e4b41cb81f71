// Reads codes from the phone's camera for any page that scans. The browser's own BarcodeDetector
// where it has one (Chrome on Android); elsewhere ZXing (vendored from npm, 360 KB, so it is
// fetched only the first time a phone without a detector scans). Frames are read a few times a
// second, not every frame: a phone in the rain at 4 a.m. has little battery to spare.
(function () {
  "use strict";

  var zxing = null;
  function loadZxing() {
    if (!zxing) {
      zxing = new Promise(function (done, fail) {
        var s = document.createElement("script");
        s.src = "/static/vendor/zxing-library-0.23.0.min.js";
        s.onload = function () { done(window.ZXing); };
        s.onerror = fail;
        document.head.appendChild(s);
      });
    }
    return zxing;
  }

  // A function from a video frame to the text of a code in it, or null.
  function reader() {
    if ("BarcodeDetector" in window) {
      var detector = new window.BarcodeDetector();
      return Promise.resolve(function (video) {
        return detector.detect(video).then(function (found) {
          return found.length ? found[0].rawValue : null;
        });
      });
    }
    return loadZxing().then(function (Z) {
      var canvas = document.createElement("canvas");
      var ctx = canvas.getContext("2d", { willReadFrequently: true });
      var decoder = new Z.MultiFormatReader();
      decoder.setHints(new Map()); // every format; without hints it has no readers at all
      return function (video) {
        canvas.width = video.videoWidth;
        canvas.height = video.videoHeight;
        ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
        try {
          var source = new Z.HTMLCanvasElementLuminanceSource(canvas);
          var bitmap = new Z.BinaryBitmap(new Z.HybridBinarizer(source));
          return Promise.resolve(decoder.decodeWithState(bitmap).getText());
        } catch (e) {
          return Promise.resolve(null); // no code in this frame
        }
      };
    });
  }

  // Shows the back camera in `video` until a code is read; `onCode(text)` gets it and the camera
  // stops. Returns a promise of a function that stops the camera early; rejects when there is
  // no camera or the user refuses it.
  function start(video, onCode) {
    var stream = null;
    var running = true;
    function stop() {
      running = false;
      if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
      video.srcObject = null;
    }
    return navigator.mediaDevices
      .getUserMedia({ video: { facingMode: "environment" }, audio: false })
      .then(function (s) {
        stream = s;
        video.srcObject = s;
        video.setAttribute("playsinline", "");
        return Promise.all([video.play(), reader()]);
      })
      .then(function (both) {
        var read = both[1];
        (function tick() {
          if (!running) return;
          var next = function (text) {
            if (!running) return;
            if (text) {
              stop();
              onCode(text);
            } else {
              setTimeout(tick, 250);
            }
          };
          if (video.readyState < 2) return setTimeout(tick, 250);
          read(video).then(next, function () { next(null); });
        })();
        return stop;
      }, function (e) {
        stop();
        throw e;
      });
  }

  window.HuoyanScan = { start: start };
})();
