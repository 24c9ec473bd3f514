'use strict';

// Makes serverless-offline's HTTP server (hapi) behave like the deployed API Gateway where it
// matters to clients; only `osls offline` loads it, `osls package` is untouched.
//
// - Routing on the raw path: hapi (and Node's WHATWG URL parser under it) decodes `%2E%2E` and
//   removes dot segments before routing, so `DELETE /events/E/registrations/%2E%2E` reached
//   `DELETE /events/E`. A raw path with a segment that is, or decodes to, `.` or `..`, or that
//   holds an encoded slash, a backslash, a percent sign after decoding (double encoding) or an
//   invalid escape is refused with 400 before any route is chosen.
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

function detailResponse(h, statusCode, message) {
  return h.response(JSON.stringify({ detail: message })).code(statusCode).type(JSON_TYPE);
}

function install(server) {
  server.ext('onRequest', (request, h) => {
    const message = refusal(request.raw.req.url);
    // serverless-offline's onPreResponse still adds the CORS headers.
    return message === null ? h.continue : detailResponse(h, 400, message).takeover();
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
