import { html, useEffect, useState } from '../vendor/standalone.module.js';
import { tone, utc } from '../format.js';

const RANGE_POINT = 'DefaultRangeRecoveryPoint';

/** The ARM restore request body for a destination, as the SDKs and az build it. */
function restoreBody(vault, target, form) {
  const properties = target.pointInTime
    ? { objectType: 'AzureWorkloadSQLPointInTimeRestoreRequest', pointInTime: target.pointInTime }
    : { objectType: 'AzureWorkloadSQLRestoreRequest' };
  const containerId = `${vault.id}/backupFabrics/Azure/protectionContainers/${form.container}`;
  if (form.destination === 'original')
    return {
      properties: { ...properties, recoveryType: 'OriginalLocation', targetInfo: { overwriteOption: 'Overwrite' } },
    };
  if (form.destination === 'files')
    return {
      properties: {
        ...properties,
        recoveryType: 'AlternateLocation',
        recoveryMode: 'FileRecovery',
        targetInfo: { containerId, targetDirectoryForFileRestore: form.directory },
      },
    };
  return {
    properties: {
      ...properties,
      recoveryType: 'AlternateLocation',
      shouldUseAlternateTargetLocation: true,
      targetInfo: {
        containerId,
        databaseName: `${form.instance}/${form.database}`,
        overwriteOption: form.overwrite ? 'Overwrite' : 'FailOnConflict',
      },
    },
  };
}

/**
 * Where to restore (the original database, another database on a registered VM, or files), then ARM's restore action
 * on the item's recovery point. The job it starts is found through the operation's status and followed live.
 */
export function RestoreForm({ api, vault, item, jobs, target }) {
  const [containers, setContainers] = useState([]);
  const [form, setForm] = useState({
    destination: 'alternate',
    container: item.containerName,
    instance: item.parentName,
    database: `${item.friendlyName}_restored`,
    overwrite: false,
    directory: 'C:\\SQLRestores',
  });
  const [state, setState] = useState({ phase: 'idle' });

  useEffect(() => {
    api
      .list(`${vault.id}/backupProtectionContainers?api-version=2023-06-01`)
      .then((list) => setContainers(list.filter((c) => c.properties.registrationStatus === 'Registered')))
      .catch(() => {});
  }, [vault.id]);

  const set = (key) => (event) =>
    setForm({
      ...form,
      [key]: event.currentTarget.type === 'checkbox' ? event.currentTarget.checked : event.currentTarget.value,
    });

  const submit = async (event) => {
    event.preventDefault();
    setState({ phase: 'sending' });
    try {
      const point = target.point ?? RANGE_POINT;
      const response = await api.send(
        'POST',
        `${item.id}/recoveryPoints/${point}/restore?api-version=2023-06-01`,
        restoreBody(vault, target, form),
      );
      const status = response.headers.get('azure-asyncoperation');
      let jobId;
      for (let i = 0; jobId === undefined && status && i < 50; i++) {
        const operation = await api.get(status);
        jobId = operation.properties?.jobId;
        if (jobId === undefined) await new Promise((resolve) => setTimeout(resolve, 200));
      }
      setState({ phase: 'started', jobId });
    } catch (e) {
      setState({ phase: 'refused', status: e.status, code: e.code, message: e.message });
    }
  };

  const job = state.jobId ? jobs.get(state.jobId) : undefined;
  const jobStatus = job?.properties.status ?? (state.jobId ? 'InProgress' : undefined);
  return html`
    <form class="restore" onSubmit=${submit} aria-label="Restore">
      <h4>
        ${`Restore ${item.friendlyName} to `}
        ${target.pointInTime ? html`<time data-testid="restore-time">${target.pointInTime}</time>` : 'the chosen point'}
      </h4>
      <fieldset>
        <legend>Destination</legend>
        ${[
          ['original', 'Original location (overwrite the database)'],
          ['alternate', 'Alternate location (another database)'],
          ['files', 'Restore as files'],
        ].map(
          ([value, label]) => html`
            <label
              ><input
                type="radio"
                name="destination"
                value=${value}
                checked=${form.destination === value}
                onChange=${set('destination')}
              />
              ${label}</label
            >
          `,
        )}
      </fieldset>
      ${
        form.destination !== 'original' &&
        html`
          <label for="restore-server">Target server</label>
          <select id="restore-server" value=${form.container} onChange=${set('container')}>
            ${containers.map((c) => html`<option value=${c.name}>${c.properties.friendlyName}</option>`)}
            ${containers.length === 0 && html`<option value=${item.containerName}>${item.serverName}</option>`}
          </select>
        `
      }
      ${
        form.destination === 'alternate' &&
        html`
          <label for="restore-instance">Target instance</label>
          <input id="restore-instance" value=${form.instance} onInput=${set('instance')} required />
          <label for="restore-database">New database name</label>
          <input id="restore-database" value=${form.database} onInput=${set('database')} required />
          <label class="check"
            ><input type="checkbox" checked=${form.overwrite} onChange=${set('overwrite')} /> Overwrite if it
            exists</label
          >
        `
      }
      ${
        form.destination === 'files' &&
        html`
          <label for="restore-directory">Target directory</label>
          <input id="restore-directory" value=${form.directory} onInput=${set('directory')} required />
        `
      }
      <button type="submit" class="primary" data-testid="restore" disabled=${state.phase === 'sending'}>
        ${state.phase === 'sending' ? 'Starting the restore…' : 'Restore'}
      </button>
      ${
        state.phase === 'refused' &&
        html`<div role="alert" class="error" data-testid="restore-refused">
          <strong>The service refused the restore (HTTP ${state.status} ${state.code}).</strong>
          <p>${state.message}</p>
          ${
            state.code === 'AuthorizationFailed' &&
            html`<p>The signed-in principal may read this vault but not restore from it (Backup Reader).</p>`
          }
        </div>`
      }
      ${
        state.phase === 'started' &&
        html`<p
          aria-live="polite"
          data-testid="restore-job"
          data-job=${state.jobId ?? ''}
          data-status=${jobStatus ?? ''}
        >
          Restore job ${state.jobId ?? '(not found)'}:
          <span class=${`pill ${tone(jobStatus)}`}>${jobStatus ?? 'started'}</span>
          ${job?.properties.endTime && ` at ${utc(job.properties.endTime)}`}
          ${job?.properties.errorCode && html` <span class="bad">${job.properties.errorCode}</span>`}
        </p>`
      }
    </form>
  `;
}
