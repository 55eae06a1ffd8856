/** Small DOM helpers shared by the pages. */

/** The element with this id; a page that lacks it is a build mistake, so this throws. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`missing element #${id}`);
  return element as T;
}

/** An element with text content only: whatever people type is never parsed as HTML. */
export function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  text = '',
  attributes: Record<string, string> = {},
): HTMLElementTagNameMap[K] {
  const created = document.createElement(tag);
  created.textContent = text;
  for (const [name, value] of Object.entries(attributes)) created.setAttribute(name, value);
  return created;
}

export function show(target: HTMLElement, visible: boolean): void {
  target.hidden = !visible;
}

/** Shows a message in a `role="alert"` element, or clears it. */
export function report(target: HTMLElement, message: string): void {
  target.textContent = message;
  show(target, message !== '');
}
