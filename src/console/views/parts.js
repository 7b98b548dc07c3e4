import { html } from '../vendor/standalone.module.js';

/** A data table: a caption for screen readers, column headers (an empty name is an actions column), the rows. */
export const Table = ({ caption, testid, columns, children }) => html`
  <div class="scroll">
    <table data-testid=${testid}>
      <caption class="visually-hidden">
        ${caption}
      </caption>
      <thead>
        <tr>
          ${columns.map(
            (name) => html`<th scope="col">${name || html`<span class="visually-hidden">Actions</span>`}</th>`,
          )}
        </tr>
      </thead>
      <tbody>
        ${children}
      </tbody>
    </table>
  </div>
`;

/** A labelled select of [value, text] options. */
export const Choice = ({ id, label, value, options, onChange }) => html`
  <div>
    <label for=${id}>${label}</label>
    <select id=${id} value=${value} onChange=${(e) => onChange(e.currentTarget.value)}>
      ${options.map(([v, text]) => html`<option value=${v}>${text}</option>`)}
    </select>
  </div>
`;
