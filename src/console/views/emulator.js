import { html, useEffect, useState } from '../vendor/standalone.module.js';
import { utc } from '../format.js';

/**
 * Emulator controls (shown only when the service has them on): the clock — advancing it runs every scheduled backup
 * that becomes due — and fault injection (a backup failure on an item, a storage outage, a silent agent).
 */
export function EmulatorPanel({ api, vault, clock }) {
  const [now, setNow] = useState(clock);
  const [hours, setHours] = useState('1');
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState('');
  const [faults, setFaults] = useState([]);
  const [items, setItems] = useState([]);
  const [fault, setFault] = useState({ item: '', code: 'UserErrorSQLLSNValidationFailure', count: '1' });

  const loadFaults = () =>
    api
      .get('/emulator/v1/faults')
      .then((f) => setFaults(f.value ?? f))
      .catch(() => {});
  useEffect(() => {
    void loadFaults();
    void api
      .list(`/portal/v1${vault.id}/backupItems?$top=200`)
      .then((list) => setItems(list.slice(0, 200)))
      .catch(() => {});
  }, [vault.id]);

  const advance = async (event) => {
    event.preventDefault();
    setBusy(true);
    setMessage('');
    try {
      const result = await api.json('POST', '/emulator/v1/clock', { advanceSeconds: Math.round(Number(hours) * 3600) });
      setNow(result);
      setMessage(`The clock is at ${utc(result.now)}: ${result.backupsStarted ?? 0} scheduled backups ran.`);
    } catch (e) {
      setMessage(`${e.code}: ${e.message}`);
    } finally {
      setBusy(false);
    }
  };
  const inject = async (event) => {
    event.preventDefault();
    try {
      await api.json('POST', '/emulator/v1/faults', {
        kind: 'BackupFailure',
        protectedItemId: fault.item || items[0]?.id,
        code: fault.code,
        count: Number(fault.count),
      });
      setMessage('Fault injected.');
      await loadFaults();
    } catch (e) {
      setMessage(`${e.code}: ${e.message}`);
    }
  };
  const remove = (f) =>
    api
      .send('DELETE', `/emulator/v1/faults/${f.id}`)
      .then(loadFaults)
      .catch(() => {});

  return html`
    <div class="columns">
      <form class="card" onSubmit=${advance} aria-label="Emulator clock">
        <h3>Clock</h3>
        <p>Service time: <strong data-testid="clock">${utc(now.now)}</strong></p>
        <label for="advance-hours">Advance by (hours)</label>
        <input
          id="advance-hours"
          type="number"
          min="0"
          step="0.25"
          value=${hours}
          onInput=${(e) => setHours(e.currentTarget.value)}
        />
        <button type="submit" class="primary" disabled=${busy}>
          ${busy ? 'Running due backups…' : 'Advance the clock'}
        </button>
      </form>
      <form class="card" onSubmit=${inject} aria-label="Fault injection">
        <h3>Fault injection</h3>
        <label for="fault-item">Protected item</label>
        <select
          id="fault-item"
          value=${fault.item}
          onChange=${(e) => setFault({ ...fault, item: e.currentTarget.value })}
        >
          ${items.map((i) => html`<option value=${i.id}>${i.friendlyName} [${i.serverName}]</option>`)}
        </select>
        <label for="fault-code">Error code</label>
        <input
          id="fault-code"
          value=${fault.code}
          onInput=${(e) => setFault({ ...fault, code: e.currentTarget.value })}
        />
        <label for="fault-count">Next backups to fail</label>
        <input
          id="fault-count"
          type="number"
          min="1"
          value=${fault.count}
          onInput=${(e) => setFault({ ...fault, count: e.currentTarget.value })}
        />
        <button type="submit">Inject a backup failure</button>
        <ul>
          ${faults.map(
            (f) =>
              html`<li>
                ${f.kind} ${f.code ?? ''} ${f.remaining === undefined ? '' : `(${f.remaining} left)`}
                <button
                  onClick=${(e) => {
                    e.preventDefault();
                    void remove(f);
                  }}
                >
                  Remove
                </button>
              </li>`,
          )}
        </ul>
      </form>
    </div>
    ${message && html`<p aria-live="polite" class="hint">${message}</p>`}
  `;
}
