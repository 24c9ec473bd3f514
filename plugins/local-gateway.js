'use strict';

// Makes serverless-offline's HTTP server (hapi) behave like the deployed API Gateway where it
// matters to clients; only `osls offline` loads it, `osls package` is untouched.
//
// - Routing on the raw path: hapi (and Node's WHATWG URL parser under it) decodes `%2E%2E` and
//   removes dot segments before routing, so `DELETE /events/E/registrations/%2E%2E` reached
//   `DELETE /events/E`. A raw path with a segment that is, or decodes to, `.` or `..`, or that
//   holds an encoded slash, a backslash, a percent sign after decoding (double encoding) or an
//   invalid escape is refused with 400 before any route is chosen.
// - Errors in the API's shape: every error hapi or serverless-offline produces itself (payload
//   limits, multipart without boundary, unparsable URLs, function crashes and timeouts, its own
//   404) becomes `{"detail": …}` with Content-Type application/json, as the deployed API's
//   GatewayResponses do; requests Node's HTTP parser refuses (oversized request line or headers,
//   malformed requests, request timeouts) get the same shape instead of an empty 400.
const http = require('http');
const path = require('path');

const JSON_TYPE = 'application/json';

function craftedSegment(rawPath) {
  for (const segment of rawPath.split('/')) {
    if (segment.includes('\\')) return segment;
    let decoded;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      return segment;
    }
    if (decoded === '.' || decoded === '..' || /[/\\%]/.test(decoded)) return segment;
  }
  return null;
}

// The path of a request target, or null when it is not origin-form (`/…`).
function rawPathOf(target) {
  if (typeof target !== 'string' || !target.startsWith('/')) return null;
  return target.split(/[?#]/, 1)[0];
}

function refusal(target) {
  const rawPath = rawPathOf(target);
  if (rawPath === null) return 'path: the request target must be an absolute path';
  const segment = craftedSegment(rawPath);
  if (segment === null) return null;
  return `path: segment '${segment}' is not allowed (encoded dot segments, encoded slashes, backslashes and double encoding are refused)`;
}

function isDetailBody(source) {
  let body = source;
  if (Buffer.isBuffer(body)) body = body.toString('utf8');
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      return false;
    }
  }
  return body !== null && typeof body === 'object' && typeof body.detail === 'string' && Object.keys(body).length === 1;
}

function messageOf(statusCode, payload) {
  // As the deployed API's DEFAULT_5XX GatewayResponse: no internal detail in a 5xx.
  if (statusCode >= 500) return 'Internal server error';
  const text = payload && (payload.message || payload.errorMessage || payload.error);
  return typeof text === 'string' && text ? text : http.STATUS_CODES[statusCode] || 'Error';
}

function detailResponse(h, statusCode, message, headers) {
  const response = h.response(JSON.stringify({ detail: message })).code(statusCode).type(JSON_TYPE);
  for (const [name, value] of Object.entries(headers || {})) {
    const lower = name.toLowerCase();
    if (lower !== 'content-type' && lower !== 'content-length') response.header(name, value);
  }
  return response;
}

function clientErrorStatus(err) {
  if (err.code === 'HPE_HEADER_OVERFLOW') return 431;
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return 408;
  return 400;
}

function install(server) {
  server.ext('onRequest', (request, h) => {
    const message = refusal(request.raw.req.url);
    // serverless-offline's onPreResponse still adds the CORS headers.
    return message === null ? h.continue : detailResponse(h, 400, message).takeover();
  });

  // Registered after serverless-offline's own onPreResponse (CORS), so its headers are kept.
  server.ext('onPreResponse', (request, h) => {
    const response = request.response;
    if (response.isBoom) {
      const { statusCode, payload, headers } = response.output;
      return detailResponse(h, statusCode, messageOf(statusCode, payload), headers);
    }
    if (response.statusCode >= 400 && !isDetailBody(response.source)) {
      const source = typeof response.source === 'object' && !Buffer.isBuffer(response.source) ? response.source : {};
      return detailResponse(h, response.statusCode, messageOf(response.statusCode, source), response.headers);
    }
    return h.continue;
  });

  const listener = server.listener;
  const hapiHandlers = listener.listeners('clientError');
  listener.removeAllListeners('clientError');
  listener.on('clientError', (err, socket) => {
    // A request already being answered on this connection (pipelining): hapi knows how to end it.
    if (!socket.writable || socket._httpMessage) {
      for (const handler of hapiHandlers) handler.call(listener, err, socket);
      return;
    }
    const statusCode = clientErrorStatus(err);
    const body = JSON.stringify({ detail: http.STATUS_CODES[statusCode] });
    socket.end(
      `HTTP/1.1 ${statusCode} ${http.STATUS_CODES[statusCode]}\r\n` +
        `Content-Type: ${JSON_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `Access-Control-Allow-Origin: *\r\nConnection: close\r\n\r\n${body}`,
    );
  });
}

class LocalGateway {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = { 'before:offline:start:init': () => this.patch() };
  }

  patch() {
    // serverless-offline builds its hapi server inside its own hook: wrap start() of the hapi
    // server class it loads (the same module instance: resolved from serverless-offline itself).
    const offline = path.dirname(require.resolve('serverless-offline'));
    const hapi = require(require.resolve('@hapi/hapi', { paths: [offline] }));
    const prototype = Object.getPrototypeOf(hapi.server());
    if (prototype.localGatewayInstalled) return;
    const start = prototype.start;
    prototype.start = function startWithLocalGateway(...args) {
      install(this);
      return start.apply(this, args);
    };
    prototype.localGatewayInstalled = true;
  }
}

module.exports = LocalGateway;
