import { html, useState } from '../vendor/standalone.module.js';
import { requestToken } from '../api.js';

/** Sign-in: a principal's client credentials (the service's /oauth2/token), or a token pasted as it is. */
export function SignIn({ onSignedIn }) {
  const [mode, setMode] = useState('credentials');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  const submit = async (event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const subscriptions = String(form.get('subscriptions') ?? '')
      .split(/[\s,]+/)
      .filter(Boolean);
    setBusy(true);
    setError('');
    try {
      const token =
        mode === 'credentials'
          ? await requestToken(String(form.get('clientId')), String(form.get('clientSecret')))
          : String(form.get('token'))
              .trim()
              .replace(/^Bearer\s+/i, '');
      if (token === '') throw new Error('Paste a token.');
      onSignedIn({ token, subscriptions });
    } catch (e) {
      setError(e.code ? `${e.code}: ${e.message}` : e.message);
    } finally {
      setBusy(false);
    }
  };

  return html`
    <main class="signin" id="main">
      <h1>Backup center</h1>
      <p class="hint">recovery-vault · Azure Backup for SQL Server in Azure VMs, emulated</p>
      <form onSubmit=${submit} aria-label="Sign in">
        <fieldset class="modes">
          <legend>Sign in with</legend>
          <label
            ><input
              type="radio"
              name="mode"
              checked=${mode === 'credentials'}
              onChange=${() => setMode('credentials')}
            />
            Client credentials</label
          >
          <label
            ><input type="radio" name="mode" checked=${mode === 'token'} onChange=${() => setMode('token')} /> A
            token</label
          >
        </fieldset>
        ${
          mode === 'credentials'
            ? html`
                <label for="client-id">Client id</label>
                <input id="client-id" name="clientId" required autocomplete="username" />
                <label for="client-secret">Client secret</label>
                <input
                  id="client-secret"
                  name="clientSecret"
                  type="password"
                  required
                  autocomplete="current-password"
                />
              `
            : html`
                <label for="token">Bearer token</label>
                <textarea id="token" name="token" rows="4" required></textarea>
              `
        }
        <label for="subscriptions">Subscription ids <span class="hint">(optional, comma-separated)</span></label>
        <input id="subscriptions" name="subscriptions" aria-describedby="subscriptions-hint" />
        <p id="subscriptions-hint" class="hint">
          Listed automatically where the service answers ARM's subscription list; otherwise name them here.
        </p>
        ${error && html`<p role="alert" class="error">${error}</p>`}
        <button type="submit" class="primary" disabled=${busy}>${busy ? 'Signing in…' : 'Sign in'}</button>
      </form>
    </main>
  `;
}
