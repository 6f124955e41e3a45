// The document library's buttons (the body of gr.HTML's js_on_load: `element` is the component,
// `trigger` sends an event to the app, `watch` runs after the app re-rendered it). Each button
// names its action and document (data-action, data-source); one listener sends a click as
// {action, source}. The app re-renders the library after every action, which removes the focused
// button: focus goes back to the same button of the new rendering (or, for a row's question that
// was answered, to the button that asked it), and a new question takes the focus (once: a later
// re-rendering does not pull the focus back from elsewhere on the page) on its harmless answer.
let focused = null;
let asked = '';

element.addEventListener('click', (event) => {
  const button = event.target instanceof Element ? event.target.closest('button[data-action]') : null;
  if (!button || button.disabled) return;
  trigger('click', { action: button.dataset.action, source: button.dataset.source });
});

element.addEventListener('focusin', (event) => {
  const button = event.target instanceof Element ? event.target.closest('button[data-action]') : null;
  if (button) focused = { ...button.dataset };
});

function rowButton(action, source) {
  return [...element.querySelectorAll('button[data-action]')]
    .find((b) => b.dataset.action === action && b.dataset.source === source && !b.disabled);
}

watch('value', () => {
  const question = element.querySelector('.doc-confirm');
  const first = question?.querySelector('button');
  const key = first ? `${first.dataset.action}\n${first.dataset.source}` : '';
  const isNew = key !== asked;
  asked = key;
  if (first && isNew) {
    question.querySelector('button[data-action="cancel"]').focus();  // not the destructive answer
    return;
  }
  const lost = !document.activeElement || document.activeElement === document.body;
  if (!lost || !focused) return;
  (rowButton(focused.action, focused.source) || rowButton(focused.back, focused.source))?.focus();
});
