import { html, useEffect, useState } from '../vendor/standalone.module.js';
import { tone, utc } from '../format.js';

/** Open alerts (the portal's alerts read model, monitorCondition Fired), with acknowledge. */
export function AlertList({ api, vault }) {
  const [alerts, setAlerts] = useState(undefined);
  const [error, setError] = useState('');
  const load = () =>
    api
      .list(`/portal/v1${vault.id}/alerts?$filter=monitorCondition eq 'Fired'`)
      .then(setAlerts)
      .catch((e) => setError(`${e.code}: ${e.message}`));
  useEffect(() => {
    void load();
  }, [vault.id]);
  const acknowledge = (alert) =>
    api
      .send('POST', `/portal/v1${vault.id}/alerts/${alert.alertId}/acknowledge`)
      .then(load)
      .catch((e) => setError(`${e.code}: ${e.message}`));

  if (alerts === undefined && !error) return html`<p class="hint">Loading alerts…</p>`;
  return html`
    ${error && html`<p role="alert" class="error">${error}</p>`}
    ${alerts?.length === 0 && html`<p class="ok">No open alerts.</p>`}
    <ul class="alerts">
      ${(alerts ?? []).map(
        (a) =>
          html`<li class=${`card ${tone(a.severity)}`}>
            <div class="heading">
              <strong>${a.alertType}: ${a.entityName}</strong>
              <span class=${`pill ${tone(a.severity)}`}>${a.severity}</span>
            </div>
            <p>${a.code && html`<code>${a.code}</code> `}${a.message}</p>
            <p class="hint">Raised ${utc(a.raisedAt)} · ${a.alertState}</p>
            ${a.alertState === 'New' && html`<button onClick=${() => acknowledge(a)}>Acknowledge</button>`}
          </li>`,
      )}
    </ul>
  `;
}
