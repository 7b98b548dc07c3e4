import { html, useEffect, useState } from '../vendor/standalone.module.js';
import { tone, utc } from '../format.js';
import { Table } from './parts.js';

/**
 * Protected servers: the vault's registered VMs with registration, health and discovery state. A failed discovery
 * shows its error code, message and recommendations; "Rediscover DBs" is ARM's inquire action, the documented fix
 * once the cause (e.g. the plugin login's missing sysadmin role) is corrected on the VM.
 */
export function ServerList({ api, vault }) {
  const [containers, setContainers] = useState(undefined);
  const [error, setError] = useState('');
  const [notes, setNotes] = useState({});

  const load = () =>
    api
      .list(
        `${vault.id}/backupProtectionContainers?api-version=2023-06-01&$filter=backupManagementType eq 'AzureWorkload'`,
      )
      .then(setContainers)
      .catch((e) => setError(`${e.code}: ${e.message}`));
  useEffect(() => {
    void load();
  }, [vault.id]);

  const rediscover = async (container) => {
    setNotes({ ...notes, [container.name]: 'Rediscovering…' });
    try {
      await api.send('POST', `${container.id}/inquire?api-version=2023-06-01`);
      setNotes({ ...notes, [container.name]: 'Rediscovery started; the list refreshes in a few seconds.' });
      setTimeout(load, 3000);
    } catch (e) {
      setNotes({ ...notes, [container.name]: `Refused: ${e.code}: ${e.message}` });
    }
  };

  if (error) return html`<p role="alert" class="error">${error}</p>`;
  if (containers === undefined) return html`<p class="hint">Loading servers…</p>`;
  return html`
    <${Table}
      caption="Protected servers"
      testid="servers"
      columns=${['Server', 'Registration', 'Health', 'Discovery', '']}
    >
      ${containers.map((c) => {
        const inquiry = c.properties.extendedInfo?.inquiryInfo ?? { status: 'NotStarted' };
        const detail = inquiry.errorDetail;
        const items = (inquiry.inquiryDetails ?? []).reduce((n, d) => n + (d.itemCount ?? 0), 0);
        return html`
          <tr data-server=${c.properties.friendlyName}>
            <th scope="row">
              ${c.properties.friendlyName}<br /><span class="hint">${c.properties.sourceResourceId}</span>
            </th>
            <td>
              <span class=${`pill ${tone(c.properties.registrationStatus)}`}>${c.properties.registrationStatus}</span>
            </td>
            <td><span class=${`pill ${tone(c.properties.healthStatus)}`}>${c.properties.healthStatus}</span></td>
            <td>
              <span class=${`pill ${tone(inquiry.status === 'Success' ? 'Healthy' : inquiry.status)}`}
                >${inquiry.status}</span
              >
              <span class="hint"> ${items} items · updated ${utc(c.properties.lastUpdatedTime)}</span>
              ${
                detail &&
                html`<div class="problem" data-testid="discovery-error">
                  <strong>${detail.code}</strong>
                  <p>${detail.message}</p>
                  <p>How to fix it:</p>
                  <ol>
                    ${(detail.recommendations ?? []).map((r) => html`<li>${r}</li>`)}
                  </ol>
                </div>`
              }
            </td>
            <td>
              <button onClick=${() => rediscover(c)} aria-label=${`Rediscover DBs on ${c.properties.friendlyName}`}>
                Rediscover DBs
              </button>
              ${notes[c.name] && html`<p class="hint" aria-live="polite">${notes[c.name]}</p>`}
            </td>
          </tr>
        `;
      })}
    <//>
  `;
}
