// Where the page finds the API: the gateway's URL, without a trailing slash. Edit it when the
// page is deployed as static files (README, "The web page"); "" means the page's own origin,
// as when one edge serves the page and the gateway. `dostupno up` serves its own config.js
// naming the API it runs.
export default { api: 'http://127.0.0.1:8080' };
