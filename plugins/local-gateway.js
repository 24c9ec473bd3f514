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
//   malformed requests, request timeouts) get the same shape instead of an empty 400, and CONNECT,
//   which Node answered by closing the connection, a 405 (404 on an unknown path).
// - OPTIONS that is no full preflight (no Access-Control-Request-Method, or no Origin): hapi
//   answered 404 `CORS error: Missing … header` on every path, and 200 with that error as the body
//   when an Origin came. A known path answers 204 with its methods, as the functions' own preflight
//   answer (shared/api) and API Gateway's do; an unknown path is a 404 like any other method's.
// - Request bodies that are not UTF-8 are a 400: serverless-offline decodes every body as UTF-8,
//   replacing what is not with U+FFFD, so a title sent as Latin-1 `Caf\xe9` was stored as
//   `Caf\ufffd` and answered 201. JSON text is UTF-8 (RFC 8259), and no route takes anything else.
// - A queue in front of every function: serverless-offline starts one more Python process for each
//   request that arrives while a function's processes are busy, so a storm of 200 clients meant 200
//   cold processes fighting for 2 cores, and the slowest hit the function timeout (504). Here at
//   most LOCAL_CONCURRENCY invocations of one function run at once (default: the number of CPUs,
//   at least 2); the others wait their turn in arrival order, and the function's timeout starts
//   when it starts, as in Lambda, where a request waits for capacity rather than failing.
// - Stream polling every 100 ms on every stream event that sets no `readInterval` of its own: serverless-offline-dynamodb-streams waits 500 ms between
//   reads and again before delivering what it read (it takes the setting per event only), which
//   put a promotion about a second behind the unregistration that freed its seat.
// - Stream consumers started warm: serverless-offline-dynamodb-streams starts a function's Python
//   process on its first batch, so the first promotion after `make run` waited for a cold import
//   (2 s on a busy 2-core machine). Each consumer gets one INSERT record with empty images at start
//   (the promotion function ignores INSERTs; its event filter drops them in AWS), so the process is
//   up before the first real record; that plugin never stops an idle process.
const fs = require('fs');
const http = require('http');
const { isUtf8 } = require('buffer');
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

// shared/api/routes.json (`make openapi`, from serverless.yml): path template -> methods.
function loadRoutes() {
  const file = path.join(__dirname, '..', 'shared', 'api', 'routes.json');
  return Object.entries(JSON.parse(fs.readFileSync(file, 'utf8'))).map(([template, methods]) => ({
    pattern: new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{\w+\}/g, '[^/]+')}/?$`),
    methods,
  }));
}

let routes = null;

function allowedMethods(requestPath) {
  routes = routes || loadRoutes();
  const route = routes.find(({ pattern }) => pattern.test(requestPath));
  return route ? [...new Set([...route.methods, 'OPTIONS'])].sort() : null;
}

function isIncompletePreflight(request, response) {
  if (request.method !== 'options' || !response.isBoom) return false;
  const message = (response.output.payload && response.output.payload.message) || '';
  return message.startsWith('CORS error: Missing ');
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

  // After authentication (a refused caller still gets its 401) and before the function runs; the
  // payload is still the raw Buffer here (serverless-offline's routes do not parse it).
  server.ext('onPreHandler', (request, h) => {
    const payload = request.payload;
    if (Buffer.isBuffer(payload) && !isUtf8(payload)) {
      return detailResponse(h, 400, 'body: malformed JSON (not valid UTF-8)').takeover();
    }
    return h.continue;
  });

  // Registered after serverless-offline's own onPreResponse (CORS), so its headers are kept.
  server.ext('onPreResponse', (request, h) => {
    const response = request.response;
    if (isIncompletePreflight(request, response)) {
      const { headers } = response.output;
      const methods = allowedMethods(request.path);
      if (methods === null) return detailResponse(h, 404, `No route for ${request.path}`, headers);
      const answer = h.response().code(204);
      for (const [name, value] of Object.entries(headers)) {
        if (name.toLowerCase().startsWith('access-control-')) answer.header(name, value);
      }
      return answer.header('Allow', methods.join(', ')).header('Access-Control-Allow-Methods', methods.join(','));
    }
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
    endWithDetail(socket, statusCode, http.STATUS_CODES[statusCode]);
  });

  // CONNECT never reaches hapi, and Node closes the connection without an answer unless the server
  // listens for it: answer as any other method this API does not take.
  listener.on('connect', (req, socket) => {
    const message = refusal(req.url);
    if (message !== null) return endWithDetail(socket, 400, message);
    const target = rawPathOf(req.url);
    const methods = allowedMethods(target);
    if (methods === null) return endWithDetail(socket, 404, `No route for ${target}`);
    return endWithDetail(socket, 405, `Method CONNECT not allowed on ${target}`, { Allow: methods.join(', ') });
  });
}

function endWithDetail(socket, statusCode, message, headers = {}) {
  const body = JSON.stringify({ detail: message });
  const extra = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('');
  socket.end(
    `HTTP/1.1 ${statusCode} ${http.STATUS_CODES[statusCode]}\r\n` +
      `Content-Type: ${JSON_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}` +
      `Access-Control-Allow-Origin: *\r\nConnection: close\r\n\r\n${body}`,
  );
}

// At most `limit` runs at once; the rest wait in arrival order.
class Slots {
  constructor(limit) {
    this.limit = limit;
    this.running = 0;
    this.waiting = [];
  }

  acquire() {
    if (this.running < this.limit) {
      this.running += 1;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  release() {
    const next = this.waiting.shift();
    if (next) next();
    else this.running -= 1;
  }
}

function concurrencyLimit() {
  const configured = Number.parseInt(process.env.LOCAL_CONCURRENCY || '', 10);
  if (Number.isInteger(configured) && configured > 0) return configured;
  return Math.max(2, require('os').cpus().length);
}

// What `Lambda.get` hands its callers (HTTP routes, authorizers, schedules, the stream plugin): the
// same three methods as a LambdaFunction, but the function is taken from serverless-offline's pool
// only once a slot is free, so the pool never grows past the limit of busy processes.
class QueuedInvocation {
  constructor(take, slots) {
    this.take = take;
    this.slots = slots;
    this.event = undefined;
    this.clientContext = undefined;
  }

  setEvent(event) {
    this.event = event;
  }

  setClientContext(clientContext) {
    this.clientContext = clientContext;
  }

  async runHandler() {
    await this.slots.acquire();
    try {
      const lambdaFunction = this.take();
      if (this.clientContext !== undefined) lambdaFunction.setClientContext(this.clientContext);
      lambdaFunction.setEvent(this.event);
      return await lambdaFunction.runHandler();
    } finally {
      this.slots.release();
    }
  }
}

const STREAM_READ_INTERVAL_MS = 100;

function pollStreamsOften(service) {
  const interval = STREAM_READ_INTERVAL_MS;
  for (const definition of Object.values(service.functions || {})) {
    for (const event of definition.events || []) {
      if (event.stream && typeof event.stream === 'object' && event.stream.readInterval === undefined) {
        event.stream.readInterval = interval;
      }
    }
  }
}

// A stream record every consumer here ignores: an item was created.
const WARM_UP_EVENT = {
  Records: [
    {
      eventID: 'local-warm-up',
      eventName: 'INSERT',
      eventSource: 'aws:dynamodb',
      eventVersion: '1.1',
      awsRegion: 'us-east-1',
      dynamodb: { Keys: {}, NewImage: {}, SequenceNumber: '0', SizeBytes: 0, StreamViewType: 'NEW_AND_OLD_IMAGES' },
    },
  ],
};

function warmStreamConsumers(log) {
  const plugin = path.dirname(require.resolve('serverless-offline-dynamodb-streams/package.json'));
  const DynamodbStreams = require(path.join(plugin, 'src', 'dynamodb-streams.js'));
  const prototype = DynamodbStreams.prototype;
  if (prototype.warmsConsumers) return;
  const create = prototype.create;
  prototype.create = async function createWarm(events) {
    const created = await create.call(this, events);
    for (const functionKey of new Set(events.map((event) => event.functionKey))) {
      const lambdaFunction = this.lambda.get(functionKey);
      lambdaFunction.setEvent(WARM_UP_EVENT);
      lambdaFunction.runHandler().catch((err) => log(`warming ${functionKey} failed: ${err.message || err}`));
    }
    return created;
  };
  prototype.warmsConsumers = true;
}

async function queueInvocations() {
  const { default: Lambda } = await import('serverless-offline/lambda');
  const prototype = Lambda.prototype;
  if (prototype.queuedInvocations) return;
  const get = prototype.get;
  const limit = concurrencyLimit();
  const slots = new Map();
  prototype.get = function queuedGet(functionKey) {
    if (!slots.has(functionKey)) slots.set(functionKey, new Slots(limit));
    return new QueuedInvocation(() => get.call(this, functionKey), slots.get(functionKey));
  };
  prototype.queuedInvocations = true;
}

class LocalGateway {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = {
      'before:offline:start:init': async () => {
        this.patch();
        pollStreamsOften(this.serverless.service);
        warmStreamConsumers((message) => this.serverless.cli.log(message));
        await queueInvocations();
      },
    };
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
