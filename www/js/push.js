/* alertcast portal: "Enable push on this device" on the account page.
 * Loads OneSignal's web SDK (v16) only where that button is, and on a
 * click: OneSignal.init with the button's data-app-id, OneSignal.login
 * with data-external-id (the user's id), the browser's permission asked,
 * then the device's push subscription id posted with the page's CSRF
 * token to POST /account/push (the form #push-form), and the page
 * reloaded to show the device linked. What went wrong is said in
 * #push-status. CSP: this file is 'self'; the account page alone also
 * allows https://cdn.onesignal.com (nginx/alertcast.conf.in). */
(function () {
	"use strict";

	var SDK = "https://cdn.onesignal.com/sdks/web/v16/OneSignalSDK.page.js";
	var btn = document.getElementById("push-enable");
	var form = document.getElementById("push-form");
	var status = document.getElementById("push-status");

	if (!btn || !form)
		return;

	function say(text) {
		if (status)
			status.textContent = text;
	}

	window.OneSignalDeferred = window.OneSignalDeferred || [];
	var script = document.createElement("script");
	script.src = SDK;
	script.defer = true;
	script.onerror = function () {
		say("Push could not be loaded (is something blocking cdn.onesignal.com?).");
	};
	document.head.appendChild(script);

	/* The subscription id once OneSignal has one (it may come a moment
	 * after the permission): resolves with it, or null after 10 s. */
	function subscriptionId(OneSignal) {
		var sub = OneSignal.User.PushSubscription;

		if (sub.id)
			return Promise.resolve(sub.id);
		return new Promise(function (resolve) {
			var timer = setTimeout(function () { resolve(null); }, 10000);

			sub.addEventListener("change", function (ev) {
				var id = ev && ev.current ? ev.current.id : sub.id;

				if (id) {
					clearTimeout(timer);
					resolve(id);
				}
			});
		});
	}

	function store(id) {
		form.elements.subscription_id.value = id;
		return fetch(form.action, {
			method: "POST",
			credentials: "same-origin",
			headers: { "Content-Type": "application/x-www-form-urlencoded" },
			body: new URLSearchParams(new FormData(form)).toString()
		}).then(function (res) {
			if (!res.ok)
				throw new Error("the server refused the device (" + res.status + ")");
			window.location.assign("/account?done=push_linked#push");
		});
	}

	btn.addEventListener("click", function () {
		btn.disabled = true;
		say("Asking your browser for permission…");
		window.OneSignalDeferred.push(function (OneSignal) {
			return OneSignal.init({ appId: btn.dataset.appId })
				.then(function () { return OneSignal.login(btn.dataset.externalId); })
				.then(function () { return OneSignal.Notifications.requestPermission(); })
				.then(function () { return subscriptionId(OneSignal); })
				.then(function (id) {
					if (!id)
						throw new Error("notifications are blocked or not supported in this browser");
					return store(id);
				})
				.catch(function (err) {
					btn.disabled = false;
					say("Push is not on: " + (err && err.message ? err.message : err) + ".");
				});
		});
	});
})();
