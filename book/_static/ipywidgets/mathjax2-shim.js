// ipywidgets' HTML manager typesets widget labels with the MathJax 2 call MathJax.Hub.Queue,
// but the site loads MathJax 3, which has no Hub: every widget label then logs
// "Cannot read properties of undefined (reading 'Queue')". Give MathJax a Hub that hands the
// work to MathJax 3. MathJax 3 replaces window.MathJax when it loads (keeping what was there as
// its configuration), so the Hub is also re-attached once MathJax 3 is ready. Loaded before
// embed.js, on pages with widgets only.
(function () {
  var hub = {
    Queue: function () {
      if (window.MathJax && window.MathJax.typesetPromise) { window.MathJax.typesetPromise(); }
    },
  };
  var mj = (window.MathJax = window.MathJax || {});
  if (!mj.Hub) { mj.Hub = hub; }
  if (!mj.version) {  // MathJax 3 has not loaded yet: this object is its configuration
    mj.startup = mj.startup || {};
    var ready = mj.startup.ready;
    mj.startup.ready = function () {
      if (ready) { ready(); } else { window.MathJax.startup.defaultReady(); }
      if (!window.MathJax.Hub) { window.MathJax.Hub = hub; }
    };
  }
})();
