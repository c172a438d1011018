// The recovery page restores the cart with a POST it sends itself once a browser has shown it: a person opened
// the link. Mail scanners that only fetch the page change nothing. With scripts off, the page's button does it.
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("restore-cart");
  if (form && form.dataset.autoRestore === "1") {
    form.submit();
  }
});
