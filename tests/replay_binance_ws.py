"""A local websocket server answering like Binance's market streams, from recorded data.

On a SUBSCRIBE it confirms (``{"result": null, "id": ...}``) and plays, for
``<symbol>@depth@100ms``, diff-depth events rebuilt from consecutive recorded top-20 books (``U`` =
the previous event's ``u`` + 1, ``u`` = the book's update id; a level that left the top 20 is sent
with quantity 0), and for ``<symbol>@trade`` the recorded tick trades after the first book.
Together with the REST replay's depth snapshot (the first recorded book) a client that follows
Binance's documented snapshot + diff procedure rebuilds each recorded book exactly.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time

import pandas as pd
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

LEVELS = 20


def _side(row: pd.Series, side: str) -> dict[float, float]:
    return {
        float(row[f"{side}_px_{i}"]): float(row[f"{side}_qty_{i}"])
        for i in range(1, LEVELS + 1)
        if pd.notna(row[f"{side}_px_{i}"])
    }


def depth_events(book: pd.DataFrame, symbol: str, rows: int) -> list[dict]:
    events = []
    previous = book.iloc[0]
    for i in range(1, min(rows, len(book))):
        row = book.iloc[i]
        changes = {}
        for side in ("bid", "ask"):
            before, after = _side(previous, side), _side(row, side)
            moved = {p: q for p, q in after.items() if before.get(p) != q}
            moved.update({p: 0.0 for p in before if p not in after})
            changes[side[0]] = [[f"{p:.2f}", f"{q:.8f}"] for p, q in sorted(moved.items())]
        events.append(
            {
                "e": "depthUpdate",
                "E": int(row["timestamp"].value // 1_000_000),
                "s": symbol,
                "U": int(previous["update_id"]) + 1,
                "u": int(row["update_id"]),
                "b": changes["b"],
                "a": changes["a"],
            }
        )
        previous = row
    return events


def trade_events(trades: pd.DataFrame, symbol: str, after: pd.Timestamp, count: int) -> list[dict]:
    later = trades[trades["timestamp"] > after].head(count)
    return [
        {
            "e": "trade",
            "E": int(t.timestamp.value // 1_000_000),
            "s": symbol,
            "t": int(t.trade_id),
            "p": f"{t.price:.2f}",
            "q": f"{t.qty:.8f}",
            "T": int(t.timestamp.value // 1_000_000),
            "m": bool(t.is_buyer_maker),
            "M": True,
        }
        for t in later.itertuples()
    ]


class BinanceStreamReplay:
    def __init__(
        self,
        book: pd.DataFrame,
        trades: pd.DataFrame,
        symbol: str,
        rows: int,
        gap_s: float,
        at_now: bool = False,
    ) -> None:
        """`at_now`: replay as if recorded now (event times moved by a constant), for clients
        that stamp what has no exchange time with their own clock."""
        self.depth = depth_events(book, symbol, rows)
        self.trades = trade_events(trades, symbol, book["timestamp"].iloc[0], 200)
        if at_now:
            shift = int(time.time() * 1000) - self.depth[0]["E"]
            for event in (*self.depth, *self.trades):
                event["E"] += shift
                if "T" in event:
                    event["T"] += shift
        self.gap_s = gap_s
        self.subscriptions: list[str] = []
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Future | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.url = ""

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._serve())

    async def _serve(self) -> None:
        self._stop = self._loop.create_future()
        async with serve(self._session, "127.0.0.1", 0) as server:
            port = next(iter(server.sockets)).getsockname()[1]
            self.url = f"ws://127.0.0.1:{port}"
            self._ready.set()
            await self._stop

    async def _session(self, websocket) -> None:
        async for raw in websocket:
            request = json.loads(raw)
            if request.get("method") != "SUBSCRIBE":
                continue
            await websocket.send(json.dumps({"result": None, "id": request["id"]}))
            for stream in request["params"]:
                self.subscriptions.append(stream)
                events = self.depth if "@depth" in stream else self.trades
                asyncio.ensure_future(self._play(websocket, events))

    async def _play(self, websocket, events: list[dict]) -> None:
        await asyncio.sleep(0.2)  # the client fetches its REST snapshot meanwhile
        try:
            for event in events:
                await websocket.send(json.dumps(event))
                await asyncio.sleep(self.gap_s)
        except ConnectionClosed:
            pass  # the client had what it wanted

    def __enter__(self) -> BinanceStreamReplay:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._stop.set_result, None)
        self._thread.join(10)
