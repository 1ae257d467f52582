/* alertcast admin panel: Copy buttons. A button with data-copy="ID"
 * copies the text of the element ID (an input's value, a <pre>'s text);
 * without the clipboard API it selects the text for Ctrl-C. The page works
 * without this script: the text is selectable. */
(function () {
	"use strict";

	function select(el) {
		if (el.select) {
			el.focus();
			el.select();
			return;
		}
		var r = document.createRange(), s = window.getSelection();

		r.selectNodeContents(el);
		s.removeAllRanges();
		s.addRange(r);
	}

	function said(btn, text) {
		var was = btn.textContent;

		btn.textContent = text;
		setTimeout(function () { btn.textContent = was; }, 1500);
	}

	document.addEventListener("click", function (ev) {
		var btn = ev.target.closest ? ev.target.closest("[data-copy]") : null, el, text;

		if (!btn || !(el = document.getElementById(btn.getAttribute("data-copy"))))
			return;
		text = el.value !== undefined ? el.value : el.textContent;
		if (navigator.clipboard && window.isSecureContext) {
			navigator.clipboard.writeText(text).then(function () {
				said(btn, "Copied");
			}, function () {
				select(el);
				said(btn, "Press Ctrl-C");
			});
		} else {
			select(el);
			said(btn, "Press Ctrl-C");
		}
	});
}());
