// Re-renders the page from its AsyncAPI document with the component's bundle (interactive).
(function () {
  var root = document.getElementById('asyncapi');
  fetch(root.getAttribute('data-document')).then(function (r) { return r.text(); }).then(function (schema) {
    AsyncApiStandalone.render({ schema: schema, config: {"show":{"sidebar":false,"errors":true},"expand":{"messageExamples":false}} }, root);
  });
})();
