import { html } from '../vendor/standalone.module.js';
import { bytes, tone } from '../format.js';

/** Vaults of every subscription the principal sees (ARM), each with its portal summary. */
export async function loadVaults(api, typed, onChange) {
  const subscriptions = await api.subscriptions(typed);
  const vaults = [];
  const failures = [];
  for (const subscriptionId of subscriptions) {
    try {
      const found = await api.list(
        `/subscriptions/${subscriptionId}/providers/Microsoft.RecoveryServices/vaults?api-version=2023-04-01`,
      );
      for (const v of found) vaults.push({ id: v.id, name: v.name, location: v.location, subscriptionId });
    } catch (error) {
      failures.push({ subscriptionId, error: `${error.code}: ${error.message}` });
    }
  }
  onChange({ vaults, failures, subscriptions });
  await Promise.all(
    vaults.map(async (vault) => {
      try {
        vault.summary = await api.get(`/portal/v1${vault.id}/summary`);
      } catch (error) {
        vault.error = `${error.code}: ${error.message}`;
      }
      onChange({ vaults: [...vaults], failures, subscriptions });
    }),
  );
}

/** Counts by key; `keep` are always shown, the others only when not zero. */
const Counts = ({ label, counts, keep }) => html`
  <dl class="counts" aria-label=${label}>
    ${Object.entries(counts ?? {})
      .filter(([key, n]) => n > 0 || keep.includes(key))
      .map(
        ([key, n]) =>
          html`<div class=${`count ${n > 0 ? tone(key) : 'idle'}`}>
            <dt>${key}</dt>
            <dd>${n}</dd>
          </div>`,
      )}
  </dl>
`;

/** A vault at a glance: databases by health, the last 24 h of jobs, open alerts, storage, the 2000-item usage. */
export function SummaryStrip({ summary }) {
  if (summary === undefined) return html`<p class="hint">Loading the summary…</p>`;
  const items = summary.protectedItems;
  const openAlerts = Object.values(summary.alerts.openByType).reduce((a, b) => a + b, 0);
  return html`
    <div class="summary" data-testid="summary">
      <section aria-label="Protected databases by health">
        <h3>Databases by health</h3>
        <${Counts} label="by health" counts=${items.byHealth} keep=${['Healthy', 'ActionRequired']} />
      </section>
      <section aria-label="Jobs in the last 24 hours">
        <h3>Jobs, last 24 h</h3>
        <${Counts} label="by status" counts=${summary.jobsLast24Hours.byStatus} keep=${['Completed', 'Failed']} />
      </section>
      <section aria-label="Open alerts">
        <h3>Open alerts</h3>
        <p class=${`big ${openAlerts > 0 ? 'bad' : 'ok'}`}>${openAlerts}</p>
        <p class="hint">
          ${summary.alerts.openRpoBreaches} RPO breach${summary.alerts.openRpoBreaches === 1 ? '' : 'es'}
        </p>
      </section>
      <section aria-label="Storage used">
        <h3>Storage used</h3>
        <p class="big">${bytes(summary.storage.storedBytes)}</p>
        <p class="hint">${bytes(summary.storage.sizeBytes)} of backups</p>
      </section>
      <section aria-label="Protected items against the vault's limit">
        <h3>Items</h3>
        <p class="big" data-testid="usage">${items.countAgainstLimit} / ${items.limit}</p>
        <meter min="0" max=${items.limit} value=${items.countAgainstLimit} high=${items.limit * 0.9}>
          ${items.countAgainstLimit}
        </meter>
      </section>
    </div>
  `;
}

export function VaultList({ vaults, onOpen, onReload }) {
  if (vaults === undefined) return html`<p class="hint">Loading vaults…</p>`;
  return html`
    <div class="heading">
      <h2>Vaults</h2>
      <button onClick=${onReload}>Refresh</button>
    </div>
    ${vaults.failures.map((f) => html`<p role="alert" class="error">Subscription ${f.subscriptionId}: ${f.error}</p>`)}
    ${
      vaults.vaults.length === 0 &&
      html`<p class="hint">
        No vaults in
        ${vaults.subscriptions.length === 0 ? 'any subscription (name one at sign-in)' : 'these subscriptions'}.
      </p>`
    }
    <ul class="vaults">
      ${vaults.vaults.map(
        (v) => html`
          <li class="card" data-vault=${v.name}>
            <div class="heading">
              <h3>${v.name}</h3>
              <button class="primary" onClick=${() => onOpen(v.id)} aria-label=${`Open vault ${v.name}`}>Open</button>
            </div>
            <p class="hint">${v.location} · subscription ${v.subscriptionId}</p>
            ${v.error ? html`<p class="error">${v.error}</p>` : html`<${SummaryStrip} summary=${v.summary} />`}
          </li>
        `,
      )}
    </ul>
  `;
}
