// A real OpenID provider (panva's certified `oidc-provider`) for lessonloop's single sign-on tests.
//
// Started by tests/integrations/sso/provider.py on a free 127.0.0.1 port; nothing here is mocked:
// discovery, the authorization endpoint with its login and consent pages (the package's own
// "devInteractions": any login that is in the accounts file, any password), PKCE, the token
// endpoint, signed ID tokens and the JWKS are the package's.
//
// Environment:
//   PORT                    where to listen (127.0.0.1 only)
//   CLIENT_ID, CLIENT_SECRET the one registered client (confidential, client_secret_basic)
//   REDIRECT_URIS           its redirect URIs, comma separated
//   ACCOUNTS_FILE           JSON {"login": {"email": ..., "email_verified": ..., "name": ...}};
//                           read at every sign-in so a test can change an e-mail between two
import { readFileSync } from 'node:fs';

import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;

function accounts() {
  return JSON.parse(readFileSync(process.env.ACCOUNTS_FILE, 'utf8'));
}

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: process.env.CLIENT_ID,
      client_secret: process.env.CLIENT_SECRET,
      redirect_uris: process.env.REDIRECT_URIS.split(','),
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  // PKCE for every client, not only public ones (S256 is the only method the package allows).
  pkce: { required: () => true },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  features: { devInteractions: { enabled: true } },
  async findAccount(ctx, id) {
    const account = accounts()[id];
    if (!account) return undefined;
    return { accountId: id, claims: async () => ({ sub: id, ...account }) };
  },
});

provider.listen(port, '127.0.0.1', () => {
  // The Python side waits for this line before it uses the provider.
  console.log(`ready ${issuer}`);
});
