import { html, useEffect, useRef, useState } from '../vendor/standalone.module.js';
import { SummaryStrip } from './vaults.js';
import { ItemList } from './items.js';
import { ServerList } from './servers.js';
import { JobList } from './jobs.js';
import { AlertList } from './alerts.js';
import { EmulatorPanel } from './emulator.js';
import { Timeline } from './timeline.js';
import { tone } from '../format.js';

const TABS = [
  ['items', 'Protected items'],
  ['servers', 'Protected servers'],
  ['jobs', 'Jobs'],
  ['alerts', 'Alerts'],
  ['emulator', 'Emulator'],
];

/**
 * One vault: its summary, then tabs. Jobs are read once from ARM's job list and then kept current from the vault's
 * event stream, so every view (the job list, a restore in progress) sees the same live jobs.
 */
export function VaultPage({ api, vault, onBack }) {
  const [tab, setTab] = useState('items');
  const [summary, setSummary] = useState(vault.summary);
  const [jobs, setJobs] = useState(new Map());
  const [stream, setStream] = useState('connecting');
  const [item, setItem] = useState(undefined);
  const [emulator, setEmulator] = useState(undefined);
  const refresh = useRef(undefined);

  const loadSummary = () =>
    api
      .get(`/portal/v1${vault.id}/summary`)
      .then(setSummary)
      .catch(() => {});

  useEffect(() => {
    void loadSummary();
    void api
      .list(`${vault.id}/backupJobs?api-version=2023-06-01&$top=200`)
      .then((list) =>
        setJobs((current) => {
          const next = new Map(list.map((job) => [job.name, job]));
          for (const [id, job] of current) next.set(id, job);
          return next;
        }),
      )
      .catch(() => {});
    // Emulator controls answer only when the service runs with them on.
    void api
      .get('/emulator/v1/clock')
      .then(setEmulator)
      .catch(() => setEmulator(null));
    return api.follow(
      vault.id,
      (type, data) => {
        if (type.startsWith('job.')) {
          setJobs((current) => {
            const next = new Map(current);
            const known = current.get(data.jobId);
            next.set(data.jobId, {
              ...known,
              name: data.jobId,
              id: `${vault.id}/backupJobs/${data.jobId}`,
              properties: {
                ...known?.properties,
                operation: data.operation,
                status: data.status,
                entityFriendlyName: data.entityFriendlyName,
                startTime: data.startTime,
                ...(data.endTime ? { endTime: data.endTime } : {}),
                ...(data.errorCode ? { errorCode: data.errorCode } : {}),
              },
              live: true,
            });
            return next;
          });
        }
        // The summary follows the events, at most twice a second.
        clearTimeout(refresh.current);
        refresh.current = setTimeout(loadSummary, 500);
      },
      setStream,
    );
  }, [vault.id]);

  const tabs = TABS.filter(([key]) => key !== 'emulator' || emulator);
  const onKeyDown = (event) => {
    const index = tabs.findIndex(([key]) => key === tab);
    const step = event.key === 'ArrowRight' ? 1 : event.key === 'ArrowLeft' ? -1 : 0;
    if (step === 0) return;
    const [next] = tabs[(index + step + tabs.length) % tabs.length];
    setTab(next);
    setItem(undefined);
    event.currentTarget.querySelector(`[data-tab="${next}"]`)?.focus();
  };

  return html`
    <div class="heading">
      <h2>
        <button class="link" onClick=${onBack}>Vaults</button> › <span data-testid="vault-name">${vault.name}</span>
      </h2>
      <span class=${`pill ${tone(stream)}`} aria-live="polite" data-testid="stream">events: ${stream}</span>
    </div>
    <${SummaryStrip} summary=${summary} />
    <div role="tablist" aria-label="Vault views" class="tabs" onKeyDown=${onKeyDown}>
      ${tabs.map(
        ([key, label]) => html`
          <button
            role="tab"
            id=${`tab-${key}`}
            data-tab=${key}
            aria-selected=${tab === key}
            aria-controls="tab-panel"
            tabindex=${tab === key ? 0 : -1}
            onClick=${() => {
              setTab(key);
              setItem(undefined);
            }}
          >
            ${label}
          </button>
        `,
      )}
    </div>
    <section id="tab-panel" role="tabpanel" aria-labelledby=${`tab-${tab}`}>
      ${
        tab === 'items' &&
        (item
          ? html`<${Timeline}
              api=${api}
              vault=${vault}
              item=${item}
              jobs=${jobs}
              onClose=${() => setItem(undefined)}
            />`
          : html`<${ItemList} api=${api} vault=${vault} onTimeline=${setItem} />`)
      }
      ${tab === 'servers' && html`<${ServerList} api=${api} vault=${vault} />`}
      ${tab === 'jobs' && html`<${JobList} api=${api} jobs=${jobs} />`}
      ${tab === 'alerts' && html`<${AlertList} api=${api} vault=${vault} />`}
      ${tab === 'emulator' && emulator && html`<${EmulatorPanel} api=${api} vault=${vault} clock=${emulator} />`}
    </section>
  `;
}
