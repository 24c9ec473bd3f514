'use strict';

// Authentication per stage: custom.auth.mode (`--param="auth=on|off"`, on by default).
//   on, packaged or deployed   every route with `authorizer: ${self:custom.auth.authorizer}` keeps
//                              API Gateway's Cognito user-pool authorizer.
//   on, `osls offline`         the same routes are verified by plugins/local-auth-provider.js
//                              against the local JWKS instead (serverless-offline cannot reach
//                              Cognito, and on its own would verify nothing).
//   off                        the authorizers are removed: every route is open (the plain
//                              `make run`, or a demo stage).
// The functions learn the mode from the AUTH variable and apply the same permission rules.
class Auth {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = { initialize: () => this.apply() };
  }

  apply() {
    const service = this.serverless.service;
    const mode = String(((service.custom || {}).auth || {}).mode);
    if (mode !== 'on' && mode !== 'off') {
      throw new Error(`custom.auth.mode (param "auth") must be "on" or "off", not "${mode}"`);
    }
    if (mode === 'off') {
      for (const fn of Object.values(service.functions || {})) {
        for (const event of fn.events || []) {
          if (event.http && typeof event.http === 'object') delete event.http.authorizer;
        }
      }
      return;
    }
    const commands = this.serverless.processedInput.commands || [];
    if (commands[0] === 'offline') {
      service.custom.offline = {
        ...(service.custom.offline || {}),
        customAuthenticationProvider: './plugins/local-auth-provider.js',
      };
    }
  }
}

module.exports = Auth;
