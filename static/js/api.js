/**
 * The JSON API as the pages use it. Every failure becomes an ApiError carrying the API's
 * `{code, message, field}`, so forms can put the message next to the field it names.
 */

class ApiError extends Error {
  constructor(status, code, message, field = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

const NETWORK_MESSAGE = "The server did not answer. Check that Backtune is running, then try again.";

/** GET (or `method`) a JSON resource; `body` is sent as JSON. */
export async function apiJson(url, { method = "GET", body } = {}) {
  let response;
  try {
    response = await fetch(url, {
      method,
      headers: body === undefined ? { Accept: "application/json" }
        : { Accept: "application/json", "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "network", NETWORK_MESSAGE);
  }
  const payload = await response.json().catch(() => null);
  if (!response.ok) throw errorFrom(response.status, payload);
  return payload;
}

/**
 * POST a file as multipart `file`, reporting upload progress (fetch cannot, hence XHR).
 * `onProgress(fraction)` gets 0..1 while bytes leave the browser; the promise settles when
 * the server has parsed the file.
 */
export function uploadFile(url, file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    xhr.responseType = "json";
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    xhr.addEventListener("load", () => {
      if (xhr.status >= 200 && xhr.status < 300) resolve(xhr.response);
      else reject(errorFrom(xhr.status, xhr.response));
    });
    xhr.addEventListener("error", () => reject(new ApiError(0, "network", NETWORK_MESSAGE)));
    const form = new FormData();
    form.append("file", file, file.name);
    xhr.send(form);
  });
}

function errorFrom(status, payload) {
  const error = payload && payload.error;
  if (error) return new ApiError(status, error.code, error.message, error.field ?? null);
  return new ApiError(status, "http_error", `The server answered ${status} without an explanation.`);
}
