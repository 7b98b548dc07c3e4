import { html, useEffect, useMemo, useState } from '../vendor/standalone.module.js';
import { shortUtc, tone, utc } from '../format.js';
import { Choice, Table } from './parts.js';

/** Rows drawn at a time: a 2000-item vault's first screen stays fast; "Show more" draws the next ones. */
const ROWS = 100;

/** Unhealthy: an RPO breach or pending initial backup (health), or a failed last backup. */
export const isUnhealthy = (item) =>
  item.protectedItemHealthStatus !== 'Healthy' || item.lastBackupStatus === 'Unhealthy';

/** The RPO state the portal shows: ActionRequired is what the RPO watch sets on a breach. */
const rpoState = (item) =>
  item.protectedItemHealthStatus === 'ActionRequired'
    ? 'Breached'
    : item.protectedItemHealthStatus === 'IRPending'
      ? 'Pending'
      : 'Met';

const Last = ({ backup }) =>
  backup
    ? html`<span class=${tone(backup.status)} title=${`${backup.status}, started ${utc(backup.startTime)}`}
        >${shortUtc(backup.endTime ?? backup.startTime)} ${backup.status === 'Completed' ? '' : backup.status}</span
      >`
    : html`<span class="idle">—</span>`;

/** Protected items (the portal's backup-items read model, page by page), filterable on name, health and policy. */
export function ItemList({ api, vault, onTimeline }) {
  const [items, setItems] = useState([]);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState('');
  const [text, setText] = useState('');
  const [health, setHealth] = useState('all');
  const [policy, setPolicy] = useState('all');
  const [shown, setShown] = useState(ROWS);

  useEffect(() => {
    api
      .list(`/portal/v1${vault.id}/backupItems`, (all, more) => {
        setItems([...all]);
        setLoading(more);
      })
      .catch((e) => {
        setError(`${e.code}: ${e.message}`);
        setLoading(false);
      });
  }, [vault.id]);

  const policies = useMemo(() => [...new Set(items.map((i) => i.policyName).filter(Boolean))].sort(), [items]);
  const filtered = useMemo(() => {
    const needle = text.trim().toLowerCase();
    return items.filter(
      (i) =>
        (needle === '' || `${i.friendlyName} ${i.serverName} ${i.parentName}`.toLowerCase().includes(needle)) &&
        (health === 'all' || (health === 'unhealthy') === isUnhealthy(i)) &&
        (policy === 'all' || i.policyName === policy),
    );
  }, [items, text, health, policy]);

  return html`
    <div class="filters" role="search" aria-label="Filter protected items">
      <div>
        <label for="filter-name">Name or server</label>
        <input id="filter-name" type="search" value=${text} onInput=${(e) => setText(e.currentTarget.value)} />
      </div>
      <${Choice}
        id="filter-health"
        label="Health"
        value=${health}
        onChange=${setHealth}
        options=${[
          ['all', 'All'],
          ['unhealthy', 'Unhealthy'],
          ['healthy', 'Healthy'],
        ]}
      />
      <${Choice}
        id="filter-policy"
        label="Policy"
        value=${policy}
        onChange=${setPolicy}
        options=${[['all', 'All'], ...policies.map((p) => [p, p])]}
      />
      <span class="hint" aria-live="polite" data-testid="item-count"
        >${filtered.length} of ${items.length}${loading ? ' (loading…)' : ''}</span
      >
    </div>
    ${error && html`<p role="alert" class="error">${error}</p>`}
    <${Table}
      caption="Protected items"
      testid="items"
      columns=${['Database', 'Server / instance', 'Health', 'RPO', 'Last Full', 'Last Differential', 'Last Log', 'Policy', '']}
    >
      ${filtered.slice(0, shown).map(
        (i) => html`
          <tr data-item=${i.friendlyName} data-unhealthy=${isUnhealthy(i)}>
            <th scope="row">${i.friendlyName}</th>
            <td>${i.serverName} / ${i.parentName}</td>
            <td>
              <span class=${`pill ${tone(i.protectedItemHealthStatus)}`}>${i.protectedItemHealthStatus}</span>
              ${
                i.lastBackupStatus === 'Unhealthy' &&
                html`<span class="pill bad" title=${i.lastBackupErrorDetail?.message ?? ''}
                  >last backup failed${i.lastBackupErrorDetail ? `: ${i.lastBackupErrorDetail.code}` : ''}</span
                >`
              }
            </td>
            <td><span class=${tone(rpoState(i))}>${rpoState(i)}</span></td>
            <td><${Last} backup=${i.lastBackups.Full} /></td>
            <td><${Last} backup=${i.lastBackups.Differential} /></td>
            <td><${Last} backup=${i.lastBackups.Log} /></td>
            <td>${i.policyName ?? '—'}</td>
            <td>
              <button onClick=${() => onTimeline(i)} aria-label=${`Recovery timeline of ${i.friendlyName}`}>
                Timeline
              </button>
            </td>
          </tr>
        `,
      )}
    <//>
    ${
      filtered.length > shown &&
      html`<button onClick=${() => setShown(shown + ROWS)}>Show more (${filtered.length - shown} left)</button>`
    }
  `;
}
