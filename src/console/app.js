// The Backup center console: sign in with the service's own identity, then every view reads and acts through the
// same ARM, portal and emulator endpoints a client uses. Preact + htm (one ES module from the htm package), no build.
import { html, render, useEffect, useState } from './vendor/standalone.module.js';
import { Api, principalOf } from './api.js';
import { SignIn } from './views/signin.js';
import { VaultList, loadVaults } from './views/vaults.js';
import { VaultPage } from './views/vault.js';

const STORAGE_KEY = 'recovery-vault-console';

function restored() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(STORAGE_KEY) ?? 'null');
    return saved?.token ? saved : null;
  } catch {
    return null;
  }
}

function Console({ session, onSignOut }) {
  const api = new Api(session.token);
  const [vaults, setVaults] = useState(undefined);
  const [error, setError] = useState('');
  const [open, setOpen] = useState(undefined);

  const reload = () =>
    loadVaults(api, session.subscriptions, setVaults).catch((e) => setError(`${e.code ?? 'Error'}: ${e.message}`));
  useEffect(() => {
    void reload();
  }, []);

  const vault = vaults?.vaults.find((v) => v.id === open);
  return html`
    <header class="top">
      <a class="skip" href="#main">Skip to content</a>
      <h1><button class="link" onClick=${() => setOpen(undefined)}>Backup center</button></h1>
      <span class="who" title="the signed-in principal (object id)">Signed in as ${principalOf(session.token)}</span>
      <button onClick=${onSignOut}>Sign out</button>
    </header>
    <main id="main" tabindex="-1">
      ${error && html`<p role="alert" class="error">${error}</p>`}
      ${
        vault
          ? html`<${VaultPage} key=${vault.id} api=${api} vault=${vault} onBack=${() => setOpen(undefined)} />`
          : html`<${VaultList} vaults=${vaults} onOpen=${setOpen} onReload=${reload} />`
      }
    </main>
  `;
}

function App() {
  const [session, setSession] = useState(restored);
  const signIn = (next) => {
    sessionStorage.setItem(STORAGE_KEY, JSON.stringify(next));
    setSession(next);
  };
  const signOut = () => {
    sessionStorage.removeItem(STORAGE_KEY);
    setSession(null);
  };
  return session === null
    ? html`<${SignIn} onSignedIn=${signIn} />`
    : html`<${Console} session=${session} onSignOut=${signOut} />`;
}

const root = document.getElementById('app');
root.textContent = '';
render(html`<${App} />`, root);
