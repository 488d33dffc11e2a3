(function () {
  var root = document.documentElement;
  function setLang(lang) {
    if (lang !== "zh" && lang !== "en") { return; }
    root.classList.remove("lang-zh", "lang-en");
    root.classList.add("lang-" + lang);
    root.setAttribute("lang", lang === "zh" ? "zh-CN" : "en");
    var titles = { zh: root.getAttribute("data-title-zh"), en: root.getAttribute("data-title-en") };
    if (titles[lang]) { document.title = titles[lang]; }
  }
  var match = /[?&]lang=(zh|en)\b/.exec(window.location.search);
  if (match) { setLang(match[1]); }
  document.addEventListener("DOMContentLoaded", function () {
    var button = document.getElementById("lang-toggle");
    if (button) {
      button.addEventListener("click", function () {
        setLang(root.classList.contains("lang-zh") ? "en" : "zh");
      });
    }
    var printer = document.getElementById("print-page");
    if (printer) { printer.addEventListener("click", function () { window.print(); }); }
  });
})();
