// Stand-ins for what the browser provides, for the unit tests of web/lib.

/** A document whose visibility a test sets: `visibilityState` and its event. */
export function fakeDocument() {
  const doc = new EventTarget();
  doc.visibilityState = "visible";
  doc.show = (state) => {
    doc.visibilityState = state;
    doc.dispatchEvent(new Event("visibilitychange"));
  };
  return doc;
}

/** A JSON answer. */
export function json(status, body, headers = {}) {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });
}

/**
 * A fetch that answers with `answer(url, init)` and records each call
 * (`calls`: [{url, init}]).
 */
export function fakeFetch(answer) {
  const calls = [];
  const fetch = async (url, init = {}) => {
    calls.push({ url, init });
    return answer(url, init);
  };
  return Object.assign(fetch, { calls });
}

/**
 * An XMLHttpRequest class whose requests a test answers: `requests` holds
 * each sent one ({method, url, body, xhr}); `xhr.answer(status, text)`,
 * `xhr.progress(loaded, total)` and `xhr.fail()` play the server.
 */
export function fakeXhr() {
  const requests = [];
  class FakeXhr {
    constructor() {
      this.upload = {};
      this.status = 0;
      this.statusText = "";
      this.responseText = "";
    }
    open(method, url) {
      this.method = method;
      this.url = url;
    }
    send(body) {
      requests.push({ method: this.method, url: this.url, body, xhr: this });
    }
    answer(status, text, statusText = "") {
      this.status = status;
      this.statusText = statusText;
      this.responseText = text;
      this.onload();
    }
    progress(loaded, total) {
      this.upload.onprogress({ loaded, total, lengthComputable: total > 0 });
    }
    fail() {
      this.onerror();
    }
  }
  return Object.assign(FakeXhr, { requests });
}

/** Let pending promise callbacks run. */
export async function settle(rounds = 10) {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
}

/** Resolve once `check()` holds (checked on each turn of the event loop, 2 s at most). */
export async function until(check, timeoutMs = 2000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 0));
  }
}
