// The only way job data reaches the page: text nodes and textContent, never innerHTML.

/** Create an element. `props.text` becomes textContent; `props.attrs` are plain attributes. */
export function el(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  if (props.className) node.className = props.className;
  if (props.text !== undefined && props.text !== null) node.textContent = String(props.text);
  if (props.title) node.title = String(props.title);
  for (const [name, value] of Object.entries(props.attrs || {})) node.setAttribute(name, String(value));
  for (const [name, handler] of Object.entries(props.on || {})) node.addEventListener(name, handler);
  for (const child of children) if (child) node.append(child);
  return node;
}

export const $ = (id) => document.getElementById(id);

export function setText(id, value) {
  const node = typeof id === "string" ? $(id) : id;
  const text = value === undefined || value === null ? "" : String(value);
  if (node.textContent !== text) node.textContent = text;
}

export function show(id, visible) {
  const node = typeof id === "string" ? $(id) : id;
  node.hidden = !visible;
}

let toastTimer = 0;
/** A short message at the bottom of the page (an action's outcome). */
export function toast(message) {
  const node = $("toast");
  node.textContent = message;
  node.classList.add("show");
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => node.classList.remove("show"), 3500);
}
