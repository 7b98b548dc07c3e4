import { html, useEffect, useState } from '../vendor/standalone.module.js';
import { tone, utc } from '../format.js';
import { Choice, Table } from './parts.js';

const STATUSES = ['InProgress', 'Completed', 'Failed', 'Cancelled', 'CompletedWithWarnings'];

/** One job's error details (ARM's job get): codes, messages and Azure's recommendations. */
function JobDetails({ api, job }) {
  const [details, setDetails] = useState(undefined);
  const [error, setError] = useState('');
  useEffect(() => {
    void api
      .get(`${job.id}?api-version=2023-06-01`)
      .then(setDetails)
      .catch((e) => setError(`${e.code}: ${e.message}`));
  }, [job.id, job.properties.status]);
  if (error) return html`<p class="error">${error}</p>`;
  if (details === undefined) return html`<p class="hint">Loading…</p>`;
  const props = details.properties;
  return html`
    <dl class="details">
      ${Object.entries(props.extendedInfo?.propertyBag ?? {}).map(
        ([k, v]) =>
          html`<dt>${k}</dt>
            <dd>${v}</dd>`,
      )}
      <dt>Duration</dt>
      <dd>${props.duration}</dd>
    </dl>
    ${(props.errorDetails ?? []).map(
      (e) =>
        html`<div class="problem">
          <strong>${e.errorTitle ?? e.errorCode}</strong>
          <p>${e.errorString}</p>
          ${
            (e.recommendations ?? []).length > 0 &&
            html`<p>Recommended:</p>
              <ul>
                ${e.recommendations.map((r) => html`<li>${r}</li>`)}
              </ul>`
          }
        </div>`,
    )}
  `;
}

/** The vault's jobs, newest first, kept current by the event stream; a row opens its details. */
export function JobList({ api, jobs }) {
  const [open, setOpen] = useState(undefined);
  const [status, setStatus] = useState('all');
  const rows = [...jobs.values()]
    .filter((j) => status === 'all' || j.properties.status === status)
    .sort((a, b) => Date.parse(b.properties.startTime) - Date.parse(a.properties.startTime));
  return html`
    <div class="filters">
      <${Choice}
        id="filter-status"
        label="Status"
        value=${status}
        onChange=${setStatus}
        options=${['all', ...STATUSES].map((s) => [s, s === 'all' ? 'All' : s])}
      />
      <span class="hint">${rows.length} jobs · updated live</span>
    </div>
    <${Table} caption="Jobs" testid="jobs" columns=${['Operation', 'Item', 'Status', 'Started', 'Ended', 'Error']}>
      ${rows.slice(0, 200).map(
        (j) => html`
          <tr data-job=${j.name} data-operation=${j.properties.operation} data-status=${j.properties.status}>
            <th scope="row">
              <button
                class="link"
                aria-expanded=${open === j.name}
                onClick=${() => setOpen(open === j.name ? undefined : j.name)}
              >
                ${j.properties.operation}
              </button>
            </th>
            <td>${j.properties.entityFriendlyName}</td>
            <td><span class=${`pill ${tone(j.properties.status)}`}>${j.properties.status}</span></td>
            <td>${utc(j.properties.startTime)}</td>
            <td>${utc(j.properties.endTime)}</td>
            <td>${j.properties.errorCode ?? j.properties.errorDetails?.[0]?.errorTitle ?? ''}</td>
          </tr>
          ${
            open === j.name &&
            html`<tr>
              <td colspan="6"><${JobDetails} api=${api} job=${j} /></td>
            </tr>`
          }
        `,
      )}
    <//>
  `;
}
