// Citation markers: hover or focus previews the passage in place; a click or Enter shows the
// answer's own sources (an earlier answer's markers show that answer's section) and, on a narrow
// screen, opens the card in a sheet over the chat with a way back. Escape always returns to the
// marker. Also: the live character count of the question box.
(() => {
  const MARKER = 'a[href^="#a"][href*="-source-"]';
  const NARROW = '(max-width: 760px)';
  let lastMarker = null;

  const markerOf = (target) => (target instanceof Element ? target.closest(MARKER) : null);
  const cardId = (link) => link.getAttribute('href').slice(1);

  function showAnswer(number) {
    document.querySelectorAll('#sources .answer-sources').forEach((section) => {
      section.hidden = section.dataset.answer !== String(number);
    });
  }

  function backButton(label) {
    const back = document.createElement('button');
    back.type = 'button';
    back.className = 'back-to-answer';
    back.textContent = label;
    back.addEventListener('click', returnToMarker);
    return back;
  }

  function returnToMarker() {
    closeSheet();
    if (lastMarker && document.contains(lastMarker)) {
      lastMarker.scrollIntoView({ block: 'nearest' });
      lastMarker.focus();
    }
  }

  function closeSheet() {
    document.getElementById('citation-sheet')?.remove();
    document.getElementById('citation-backdrop')?.remove();
  }

  function openSheet(card) {
    closeSheet();
    const backdrop = document.createElement('div');
    backdrop.id = 'citation-backdrop';
    backdrop.addEventListener('click', returnToMarker);
    const sheet = document.createElement('div');
    sheet.id = 'citation-sheet';
    sheet.setAttribute('role', 'dialog');
    sheet.setAttribute('aria-modal', 'true');
    sheet.setAttribute('aria-label', card.getAttribute('aria-label') || 'Source');
    const copy = card.cloneNode(true);
    copy.removeAttribute('id');
    copy.classList.remove('current');
    copy.querySelector('.back-to-answer')?.remove();
    const back = backButton('← Back to the answer');
    sheet.append(back, copy);
    document.body.append(backdrop, sheet);
    back.focus();
  }

  function openCitation(link) {
    const id = cardId(link);
    const card = document.getElementById(id);
    if (!card) return false;
    lastMarker = link;
    hidePreview();
    showAnswer(id.split('-source-')[0].slice(1));
    document.querySelectorAll('#sources .citation.current').forEach((c) => c.classList.remove('current'));
    card.classList.add('current');
    if (!card.querySelector('.back-to-answer')) card.prepend(backButton('↩ Back to the answer'));
    if (window.matchMedia(NARROW).matches) {
      openSheet(card);
    } else {
      card.scrollIntoView({ block: 'nearest' });
      card.focus({ preventScroll: true });
    }
    return true;
  }

  function hidePreview() {
    document.getElementById('citation-preview')?.remove();
  }

  function showPreview(link) {
    const card = document.getElementById(cardId(link));
    if (!card || window.matchMedia(NARROW).matches) return;
    hidePreview();
    const preview = document.createElement('div');
    preview.id = 'citation-preview';
    preview.setAttribute('role', 'tooltip');
    const title = card.querySelector('.citation-title');
    const passage = card.querySelector('.passage');
    if (title) preview.append(title.cloneNode(true));
    if (passage) preview.append(passage.cloneNode(true));
    document.body.append(preview);
    const box = link.getBoundingClientRect();
    const width = Math.min(440, window.innerWidth - 24);
    preview.style.width = `${width}px`;
    preview.style.left = `${Math.max(12, Math.min(box.left + window.scrollX, window.scrollX + window.innerWidth - width - 12))}px`;
    preview.style.top = `${box.bottom + window.scrollY + 6}px`;
    link.setAttribute('aria-describedby', 'citation-preview');
  }

  document.addEventListener('click', (event) => {
    const link = markerOf(event.target);
    if (link && openCitation(link)) {
      event.preventDefault();
      event.stopPropagation();
    }
  }, true);

  document.addEventListener('mouseover', (event) => {
    const link = markerOf(event.target);
    if (link) showPreview(link);
  });
  document.addEventListener('mouseout', (event) => {
    if (markerOf(event.target)) hidePreview();
  });
  document.addEventListener('focusin', (event) => {
    const link = markerOf(event.target);
    if (link) showPreview(link); else hidePreview();
  });

  document.addEventListener('keydown', (event) => {
    if (event.key !== 'Escape') return;
    hidePreview();
    const inSources = document.activeElement && document.activeElement.closest('#sources, #citation-sheet');
    if (document.getElementById('citation-sheet') || inSources) returnToMarker();
  });

  // "Show in the whole text" opens scrolled to the cited passage.
  document.addEventListener('toggle', (event) => {
    const details = event.target;
    if (!(details instanceof HTMLDetailsElement) || !details.open) return;
    const box = details.querySelector('.in-context');
    const cited = box && box.querySelector('.cited-passage');
    if (cited) box.scrollTop = cited.offsetTop - 24;
  }, true);

  // The question's length, live, against the limit (the box keeps whatever is typed). Also
  // polled, since the app empties the box after an answer without an input event.
  function updateCount() {
    const box = document.querySelector('#question textarea');
    const count = document.getElementById('question-count');
    if (!box || !count) return;
    const limit = Number(count.dataset.limit);
    const text = `${box.value.length} / ${limit} characters`;
    if (count.textContent !== text) count.textContent = text;
    count.classList.toggle('over', box.value.length > limit);
  }
  document.addEventListener('input', updateCount, true);

  // A new question is scrolled to the top of the chat (the chatbot's own autoscroll is off), so
  // the question stays in view above its answer instead of under the chat's toolbar.
  let questionsSeen = 0;
  function scroller(element) {
    for (let e = element.parentElement; e && e.id !== 'chat'; e = e.parentElement) {
      const overflow = getComputedStyle(e).overflowY;
      if ((overflow === 'auto' || overflow === 'scroll') && e.scrollHeight > e.clientHeight) return e;
    }
    return null;
  }
  function showNewestQuestion() {
    const questions = document.querySelectorAll('#chat [data-testid="user"]');
    if (questions.length > questionsSeen) {
      const newest = questions[questions.length - 1];
      const box = scroller(newest);
      if (box) box.scrollTop += newest.getBoundingClientRect().top - box.getBoundingClientRect().top - 48;  // below the toolbar
    }
    questionsSeen = questions.length;
  }
  setInterval(() => { updateCount(); showNewestQuestion(); }, 400);
})();
