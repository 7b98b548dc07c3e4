import { html, useEffect, useMemo, useState } from '../vendor/standalone.module.js';
import { tone, utc } from '../format.js';
import { RestoreForm } from './restore.js';

const RANGE_POINT = 'DefaultRangeRecoveryPoint';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** A whole second (restores take seconds), from any instant. */
const second = (ms) => Math.floor(ms / 1000) * 1000;

/**
 * A database's recovery points as the ARM list returns them: discrete points (Full, Differential; a Full taken by an
 * on-demand copy-only backup job is marked Copy-only) and the log range's time ranges, which may have gaps.
 */
function readPoints(list, jobs, entity) {
  const copyOnlyJobs = [...jobs.values()].filter(
    (j) =>
      j.properties?.operation === 'Backup' &&
      j.properties?.entityFriendlyName === entity &&
      j.properties?.extendedInfo?.propertyBag?.['Backup Type'] === 'CopyOnlyFull',
  );
  const isCopyOnly = (time) =>
    copyOnlyJobs.some(
      (j) =>
        Date.parse(j.properties.startTime) <= time &&
        time <= Date.parse(j.properties.endTime ?? new Date(8.64e15).toISOString()),
    );
  const ranges = [];
  const points = [];
  for (const p of list) {
    if (p.name === RANGE_POINT) {
      for (const r of p.properties.timeRanges ?? [])
        ranges.push({ start: Date.parse(r.startTime), end: Date.parse(r.endTime) });
    } else {
      const time = Date.parse(p.properties.recoveryPointTimeInUTC);
      const type = p.properties.type === 'Full' && isCopyOnly(time) ? 'CopyOnlyFull' : p.properties.type;
      points.push({ name: p.name, time, type, expiry: p.properties.recoveryPointProperties?.expiryTime });
    }
  }
  ranges.sort((a, b) => a.start - b.start);
  points.sort((a, b) => a.time - b.time);
  return { ranges, points };
}

const LABEL = { Full: 'Full', Differential: 'Differential', CopyOnlyFull: 'Copy-only full' };

function ticks(from, to) {
  const span = to - from;
  const step = span > 6 * DAY ? DAY : span > 2 * DAY ? 12 * HOUR : span > 12 * HOUR ? 6 * HOUR : HOUR;
  const out = [];
  for (let t = Math.ceil(from / step) * step; t <= to; t += step) out.push(t);
  return out;
}

/**
 * The recovery timeline of one database: marks for Full, Differential and Copy-only points, bars for the log ranges
 * (a gap between two bars is a gap in the log chain: no second there is restorable), the retention horizon, and a
 * cursor to pick a second with the mouse or the keyboard; then a point-in-time restore through ARM.
 */
export function Timeline({ api, vault, item, jobs, onClose }) {
  const [data, setData] = useState(undefined);
  const [error, setError] = useState('');
  const [picked, setPicked] = useState(undefined);
  const [point, setPoint] = useState(undefined);

  useEffect(() => {
    api
      .list(`${item.id}/recoveryPoints?api-version=2023-06-01`)
      .then(setData)
      .catch((e) => setError(`${e.code}: ${e.message}`));
  }, [item.id]);

  const entity = `${item.friendlyName} [${item.serverName}]`;
  const { ranges, points } = useMemo(
    () => (data ? readPoints(data, jobs, entity) : { ranges: [], points: [] }),
    [data, jobs],
  );
  const horizon = Math.min(ranges[0]?.start ?? Infinity, points[0]?.time ?? Infinity);
  const latest = Math.max(ranges.at(-1)?.end ?? -Infinity, points.at(-1)?.time ?? -Infinity);
  const hasData = Number.isFinite(horizon);
  const pad = hasData ? Math.max((latest - horizon) * 0.04, 10 * MINUTE) : 0;
  const from = horizon - pad;
  const to = latest + pad;
  const x = (t) => `${(((t - from) / (to - from)) * 100).toFixed(3)}%`;
  const covered = (t) => ranges.some((r) => r.start <= t && t <= r.end);
  const pick = (t) => {
    setPoint(undefined);
    setPicked(second(Math.min(Math.max(t, from), to)));
  };

  const onTrackClick = (event) => {
    const box = event.currentTarget.getBoundingClientRect();
    pick(from + ((event.clientX - box.left) / box.width) * (to - from));
  };
  const onTrackKey = (event) => {
    const base = picked ?? ranges.at(-1)?.end ?? latest;
    const step = event.shiftKey ? HOUR : MINUTE;
    const moves = {
      ArrowRight: step,
      ArrowLeft: -step,
      ArrowUp: 1000,
      ArrowDown: -1000,
      PageUp: DAY,
      PageDown: -DAY,
    };
    if (event.key in moves) pick(base + moves[event.key]);
    else if (event.key === 'Home') pick(horizon);
    else if (event.key === 'End') pick(latest);
    else return;
    event.preventDefault();
  };

  const pickedText = picked === undefined ? '' : new Date(picked).toISOString().replace('.000Z', 'Z');
  return html`
    <div class="heading">
      <h3>Recovery timeline: <span data-testid="timeline-db">${item.friendlyName}</span> on ${item.serverName}</h3>
      <button onClick=${onClose}>Back to items</button>
    </div>
    ${error && html`<p role="alert" class="error">${error}</p>`}
    ${data === undefined && !error && html`<p class="hint">Loading recovery points…</p>`}
    ${data && !hasData && html`<p class="hint">No recovery points yet: the first backup has not completed.</p>`}
    ${
      hasData &&
      html`
        <div class="legend" aria-hidden="true">
          <span><i class="mark Full"></i> Full</span>
          <span><i class="mark Differential"></i> Differential</span>
          <span><i class="mark CopyOnlyFull"></i> Copy-only full</span>
          <span><i class="bar"></i> Log backups (restorable to the second)</span>
          <span><i class="horizon"></i> Retention horizon</span>
        </div>
        <div
          class="timeline"
          data-testid="timeline"
          data-from=${new Date(from).toISOString()}
          data-to=${new Date(to).toISOString()}
        >
          <div class="lane marks" aria-label="Recovery points">
            ${points.map(
              (p) => html`
                <button
                  class=${`mark ${p.type}${point?.name === p.name ? ' chosen' : ''}`}
                  style=${`left: ${x(p.time)}`}
                  data-type=${p.type}
                  data-time=${new Date(p.time).toISOString()}
                  aria-label=${`${LABEL[p.type] ?? p.type} recovery point at ${utc(p.time)}`}
                  title=${`${LABEL[p.type] ?? p.type} · ${utc(p.time)}${p.expiry ? ` · expires ${utc(p.expiry)}` : ''}`}
                  onClick=${() => {
                    setPicked(undefined);
                    setPoint(p);
                  }}
                ></button>
              `,
            )}
          </div>
          <div
            class="lane logs track"
            role="slider"
            tabindex="0"
            aria-label="Point in time to restore (arrow keys: a minute, with Shift an hour; up and down: a second)"
            aria-valuemin=${horizon}
            aria-valuemax=${latest}
            aria-valuenow=${picked ?? latest}
            aria-valuetext=${picked === undefined ? 'nothing picked' : utc(picked)}
            onClick=${onTrackClick}
            onKeyDown=${onTrackKey}
          >
            ${ranges.map(
              (r) => html`
                <div
                  class="bar"
                  style=${`left: ${x(r.start)}; width: calc(${x(r.end)} - ${x(r.start)})`}
                  data-start=${new Date(r.start).toISOString()}
                  data-end=${new Date(r.end).toISOString()}
                  title=${`Log backups: ${utc(r.start)} → ${utc(r.end)}`}
                ></div>
              `,
            )}
            ${picked !== undefined && html`<div class="cursor" style=${`left: ${x(picked)}`}></div>`}
          </div>
          <div class="horizon-line" style=${`left: ${x(horizon)}`} title=${`Retention horizon: ${utc(horizon)}`}></div>
          <div class="axis" aria-hidden="true">
            ${ticks(from, to).map(
              (t) =>
                html`<span style=${`left: ${x(t)}`}>${new Date(t).toISOString().slice(5, 16).replace('T', ' ')}</span>`,
            )}
          </div>
        </div>
        <ul class="ranges" aria-label="Restorable log ranges" data-testid="ranges">
          ${ranges.map(
            (r) =>
              html`<li data-start=${new Date(r.start).toISOString()} data-end=${new Date(r.end).toISOString()}>
                ${utc(r.start)} → ${utc(r.end)}
              </li>`,
          )}
          ${ranges.length === 0 && html`<li class="hint">No log backups: only the points above can be restored.</li>`}
        </ul>
        <p class="hint">
          ${`Retention horizon ${utc(horizon)}: nothing older is kept. ${points.length} recovery points, `}
          ${`${ranges.length} log range${ranges.length === 1 ? '' : 's'}.`}
        </p>
        <div class="pick">
          <label for="point-in-time">Restore to (UTC, to the second)</label>
          <input
            id="point-in-time"
            value=${pickedText}
            placeholder="2026-01-02T10:15:30Z"
            aria-describedby="pit-state"
            onChange=${(e) => {
              const t = Date.parse(e.currentTarget.value);
              if (!Number.isNaN(t)) {
                setPoint(undefined);
                setPicked(second(t));
              }
            }}
          />
          <span id="pit-state" aria-live="polite">
            ${
              point
                ? html`<span class="ok">Recovery point ${LABEL[point.type] ?? point.type} at ${utc(point.time)}</span>`
                : picked === undefined
                  ? html`<span class="hint">Click the log bar, use its keys, or type a time.</span>`
                  : covered(picked)
                    ? html`<span class="ok">restorable: inside a log range</span>`
                    : html`<span class=${tone('Failed')}>not restorable: no log backup covers this second</span>`
            }
          </span>
        </div>
        ${
          (point || (picked !== undefined && covered(picked))) &&
          html`<${RestoreForm}
            api=${api}
            vault=${vault}
            item=${item}
            jobs=${jobs}
            target=${point ? { point: point.name } : { pointInTime: pickedText }}
          />`
        }
      `
    }
  `;
}
