// Live progress: reload the page's data every 10 s while it is visible.
(function () {
  setInterval(function () {
    if (document.visibilityState !== 'visible') return;
    fetch('/progress', { credentials: 'same-origin' }).then(function (r) { return r.text(); }).then(function (html) {
      var doc = new DOMParser().parseFromString(html, 'text/html');
      var main = doc.querySelector('main');
      if (main) document.querySelector('main').replaceWith(main);
    }).catch(function () {});
  }, 10000);
})();
