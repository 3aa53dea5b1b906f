/**
 * The app's whole "UI framework": `h()` builds elements, `patchList()` updates a list in place by
 * key, so that a change arriving from the server re-renders only the rows it touched and never takes
 * away a field the person is typing in.
 */
type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === 'function') el.addEventListener(name.replace(/^on/, ''), value);
    else if (name === 'value' && 'value' in el) (el as HTMLInputElement).value = String(value);
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

export interface Row {
  /** Stable identity of the row (a record id). */
  key: string;
  /** Everything the row shows; the row is rebuilt only when this changes. */
  sig: string;
  render(): HTMLElement;
}

/** Makes `parent`'s children the rendered `rows`, in order, reusing every row whose sig is unchanged. */
export function patchList(parent: HTMLElement, rows: Row[]): void {
  const existing = new Map<string, HTMLElement>();
  for (const el of Array.from(parent.children) as HTMLElement[]) {
    if (el.dataset.key === undefined)
      el.remove(); // a placeholder ("nothing yet")
    else existing.set(el.dataset.key, el);
  }
  const wanted: HTMLElement[] = [];
  for (const row of rows) {
    const old = existing.get(row.key);
    existing.delete(row.key);
    if (old && old.dataset.sig === row.sig) {
      wanted.push(old);
      continue;
    }
    const el = row.render();
    el.dataset.key = row.key;
    el.dataset.sig = row.sig;
    // In place, so the rows around it do not move (moving a row takes the focus out of it).
    if (old) old.replaceWith(el);
    wanted.push(el);
  }
  for (const el of existing.values()) el.remove();
  let at: Element | null = parent.firstElementChild;
  for (const el of wanted) {
    if (el === at) at = at.nextElementSibling;
    else parent.insertBefore(el, at);
  }
}

/** Reads a form's fields by name. */
export function fields(form: HTMLFormElement): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of new FormData(form)) out[k] = typeof v === 'string' ? v : '';
  return out;
}

/** Shows an error under a form (or clears it). */
export function formError(form: HTMLFormElement, message: string | null): void {
  let box = form.querySelector<HTMLElement>('.form-error');
  if (!box) {
    box = h('p', { class: 'form-error', role: 'alert' });
    form.append(box);
  }
  box.textContent = message ?? '';
  box.hidden = message === null;
}

/** The message of anything thrown, for a person. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
