const express = require('express');
const { greet } = require('./greet');

const app = express();
app.get('/', (_req, res) => res.send(greet('world')));
app.listen(Number(process.env.PORT ?? 8080));
