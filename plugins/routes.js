'use strict';

// One route list: the `http` events of serverless.yml's functions. A new route is its module and
// its function block; what every route shares is filled in here, before any command runs:
//   - every http event without `cors` gets custom.routes.cors (API Gateway's preflight);
//   - custom.routes.fallbackFunction gets `ANY` on `/`, `/{proxy+}` and on every declared path,
//     so that a wrong method on a known path reaches it (405) instead of API Gateway's own 403,
//     and an unknown path gets its 404. A route's own method wins over ANY.
// shared/api/routes.json (the functions' copy of the list, `make openapi`) is checked against the
// same events by tests/unit/test_routes.py; the packaged result by tests/unit/test_template.py.
//   custom.routes: { fallbackFunction: <name>, cors: <an http event's cors> }
class Routes {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = { initialize: () => this.apply() };
  }

  apply() {
    const service = this.serverless.service;
    const settings = (service.custom || {}).routes || {};
    const fallback = (service.functions || {})[settings.fallbackFunction];
    if (!fallback) throw new Error('custom.routes.fallbackFunction must name a function');
    if (!settings.cors) throw new Error('custom.routes.cors must give the http events their cors');

    // A copy per event, shaped as osls's schema validation leaves a written `cors:` (it coerces a
    // string `headers` to a one-item array); the events added here come after that validation, and
    // serverless-offline refuses a string.
    const cors = () => {
      const copy = { ...settings.cors };
      if (typeof copy.headers === 'string') copy.headers = [copy.headers];
      return copy;
    };
    const paths = ['/', '/{proxy+}'];
    for (const [name, fn] of Object.entries(service.functions)) {
      for (const event of fn.events || []) {
        if (!event.http) continue;
        if (typeof event.http !== 'object') throw new Error(`${name}: write its http event as {path, method}`);
        if (event.http.cors === undefined) event.http.cors = cors();
        if (fn === fallback) throw new Error(`${name}: its http events come from plugins/routes.js`);
        const path = `/${event.http.path.replace(/^\/+|\/+$/g, '')}`;
        if (!paths.includes(path)) paths.push(path);
      }
    }
    fallback.events = [
      ...(fallback.events || []),
      ...paths.map((path) => ({ http: { path, method: 'any', cors: cors() } })),
    ];
  }
}

module.exports = Routes;
