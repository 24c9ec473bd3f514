'use strict';

// The local stand-in for API Gateway's Cognito authorizer (`AUTH=on make run`), installed by
// plugins/auth.js as serverless-offline's `custom.offline.customAuthenticationProvider`.
//
// Why not serverless-offline's own handling: for `authorizer: {type: COGNITO_USER_POOLS, arn}` it
// verifies nothing. It logs "does not support non local authorizers", routes the request anyway,
// and puts the claims of whatever JWT the request carries (decoded, signature and expiry
// unchecked) in requestContext.authorizer.claims. It also lets a client replace that context
// wholesale with an `sls-offline-authorizer-override` header.
//
// Here, a route with an authorizer in serverless.yml admits a request only with
// `Authorization: Bearer <token>` whose RS256 signature verifies against the local JWKS
// ($LOCAL_AUTH_DIR/jwks.json, written by local/auth.py), unexpired, with the local issuer and
// audience and token_use "id" — what Cognito's authorizer checks. Anything else is answered as
// API Gateway does: 401 {"detail"} with `WWW-Authenticate: Bearer`. serverless-offline then puts
// the (now verified) claims where Cognito would: requestContext.authorizer.claims.
// Routes without an authorizer stay open, as they are in the cloud.

const fs = require('fs');
const path = require('path');
const { createRequire } = require('module');

// Both come with serverless-offline (jose is also pinned in package.json): resolved from there.
const offlineRequire = createRequire(require.resolve('serverless-offline'));
const Boom = offlineRequire('@hapi/boom');
const jose = require('jose');

const OVERRIDE_HEADER = 'sls-offline-authorizer-override';
let keySet = null;
let counter = 0;

function settings() {
  const dir = process.env.LOCAL_AUTH_DIR || path.join(process.cwd(), '.local-auth');
  const issuer = process.env.LOCAL_AUTH_ISSUER;
  const audience = process.env.LOCAL_AUTH_AUDIENCE;
  if (!issuer || !audience) {
    throw new Error('LOCAL_AUTH_ISSUER and LOCAL_AUTH_AUDIENCE must be set (local/run.py sets them)');
  }
  return { jwksPath: path.join(dir, 'jwks.json'), issuer, audience };
}

function keys(jwksPath) {
  if (keySet === null) {
    keySet = jose.createLocalJWKSet(JSON.parse(fs.readFileSync(jwksPath, 'utf8')));
  }
  return keySet;
}

function unauthorized(detail, challenge) {
  const error = Boom.unauthorized(detail);
  error.output.payload = { detail };
  error.output.headers['WWW-Authenticate'] = challenge;
  error.output.headers['Content-Type'] = 'application/json';
  return error;
}

async function verify(request, options) {
  if (request.headers[OVERRIDE_HEADER] !== undefined) {
    // Would replace the verified identity with one the client made up.
    return { error: unauthorized(`The ${OVERRIDE_HEADER} header is not accepted`, 'Bearer') };
  }
  const header = request.headers.authorization;
  const match = /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(header || '');
  if (!match) {
    const detail = header ? 'Malformed Authorization header: expected "Bearer <token>"' : 'Missing bearer token';
    return { error: unauthorized(detail, header ? 'Bearer error="invalid_request"' : 'Bearer') };
  }
  try {
    const { payload } = await jose.jwtVerify(match[1], keys(options.jwksPath), {
      algorithms: ['RS256'],
      issuer: options.issuer,
      audience: options.audience,
      requiredClaims: ['exp', 'iat', 'sub'],
    });
    if (payload.token_use !== 'id') {
      throw new Error('not an ID token');
    }
    return { claims: payload };
  } catch (err) {
    const detail = err.code === 'ERR_JWT_EXPIRED' ? 'The token has expired' : 'Invalid token';
    return { error: unauthorized(detail, 'Bearer error="invalid_token"') };
  }
}

module.exports = function localAuthProvider(endpoint, functionKey, method, routePath) {
  const options = settings();
  const id = `local-jwt-${functionKey}-${method}-${routePath}-${counter++}`;
  const isProtected = Boolean(endpoint.authorizer);
  return {
    name: id,
    scheme: id,
    getAuthenticateFunction: () => ({
      async authenticate(request, h) {
        if (!isProtected) {
          return h.authenticated({ credentials: { context: {} } });
        }
        const { claims, error } = await verify(request, options);
        if (error) {
          return error;
        }
        return h.authenticated({ credentials: { context: {}, principalId: claims.sub } });
      },
    }),
  };
};
