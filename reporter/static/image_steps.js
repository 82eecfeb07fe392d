/* flowsheet run page: a step slider for each log_image(key=, step=) series.
 *
 * The page shows each series at its last step without JavaScript; this script reads the figure's
 * data-steps ([step, href] by step, hrefs made by the build) and swaps the picture and its step label as
 * the slider moves. Values reach the page as attributes and text only. */
(function () {
  "use strict";
  document.querySelectorAll("figure.image-series[data-steps]").forEach(function (figure) {
    var steps;
    try {
      steps = JSON.parse(figure.getAttribute("data-steps"));
    } catch (error) {
      return;
    }
    var slider = figure.querySelector("input[type=range]");
    var img = figure.querySelector("img");
    var label = figure.querySelector(".step-label");
    if (!Array.isArray(steps) || steps.length < 2 || !slider || !img || !label) return;
    var key = figure.getAttribute("data-key") || "";
    slider.hidden = false;
    slider.addEventListener("input", function () {
      var pick = steps[Number(slider.value)];
      if (!pick) return;
      img.src = pick[1];
      img.alt = key + " at step " + pick[0];
      label.textContent = "step " + pick[0];
    });
  });
})();
