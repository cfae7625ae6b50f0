"""Social metrics (LunarCrush) and news (CryptoPanic) per asset, as hourly channel series.

News text is scored offline by VADER (`vaderSentiment`, whose lexicon ships inside the package:
nothing is downloaded at run time). Items are bucketed by publication hour (stamped at its start,
so known one hour later, see the features' channel timing): the mean compound score and
log(1 + count). An hour without news has count 0 and no sentiment (NaN, not 0: silence is not
neutral news).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from edgecraft.data.providers import complete_hours, utc
from edgecraft.data.providers.http import JsonClient, api_key, expect


class LunarCrush:
    """LunarCrush API v4 ``public/coins/{coin}/time-series/v2`` (hourly buckets), Bearer key
    ``LUNARCRUSH_API_KEY``: sentiment (% positive) and interactions (log)."""

    name = "lunarcrush"
    KEY = "LUNARCRUSH_API_KEY"

    def __init__(self, base_url: str = "https://lunarcrush.com/api4", **client: object) -> None:
        headers = {"Authorization": f"Bearer {api_key(self.KEY)}"}
        self.http = JsonClient(base_url, headers=headers, key_variable=self.KEY, **client)

    def fetch(self, asset: str, start: pd.Timestamp, end: pd.Timestamp) -> dict[str, pd.Series]:
        path = f"public/coins/{asset.lower()}/time-series/v2"
        body = self.http.get(
            path,
            {
                "bucket": "hour",
                "start": int(utc(start).timestamp()),
                "end": int(utc(end).timestamp()),
            },
        )
        expect(isinstance(body, dict) and isinstance(body.get("data"), list), path, "no data list")
        rows = body["data"]
        if not rows:
            return {
                "social_sentiment": pd.Series(dtype=float),
                "social_volume": pd.Series(dtype=float),
            }
        frame = pd.DataFrame(rows)
        expect("time" in frame, path, "rows without 'time'")
        index = pd.DatetimeIndex(pd.to_datetime(frame["time"], unit="s", utc=True), name="ts")
        closed = index + pd.Timedelta("1h") <= utc(end)  # the bucket still filling waits
        frame, index = frame[closed], index[closed]
        out = {}
        if "sentiment" in frame:
            out["social_sentiment"] = pd.Series(
                pd.to_numeric(frame["sentiment"], errors="coerce").to_numpy(float), index=index
            ).dropna()
        if "interactions" in frame:
            interactions = pd.to_numeric(frame["interactions"], errors="coerce").to_numpy(float)
            out["social_volume"] = pd.Series(np.log1p(interactions), index=index).dropna()
        return out


class NewsScorer:
    """VADER compound sentiment in [-1, 1] of a headline (plus its description when given)."""

    def __init__(self) -> None:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        self._vader = SentimentIntensityAnalyzer()

    def score(self, text: str) -> float:
        return float(self._vader.polarity_scores(text or "")["compound"])


def news_channels(
    items: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp, scorer: NewsScorer | None = None
) -> dict[str, pd.Series]:
    """Hourly `news_sentiment` and `news_volume` from items (`published`, `text`)."""
    scorer = scorer or NewsScorer()
    hours = complete_hours(start, end)
    if items.empty:
        return {
            "news_sentiment": pd.Series(np.nan, index=hours).dropna(),
            "news_volume": pd.Series(0.0, index=hours),
        }
    scores = items["text"].map(scorer.score)
    hour = pd.DatetimeIndex(items["published"]).floor("h")  # outside `hours`: dropped below
    sentiment = scores.groupby(hour).mean().reindex(hours)
    count = scores.groupby(hour).size().reindex(hours, fill_value=0)
    return {
        "news_sentiment": sentiment.dropna(),
        "news_volume": pd.Series(np.log1p(count.to_numpy(float)), index=hours),
    }


class CryptoPanic:
    """CryptoPanic ``developer/v2/posts`` (public news filtered by currency), key
    ``CRYPTOPANIC_API_KEY`` as ``auth_token``; newest first, paged by ``next`` until `start`."""

    name = "cryptopanic"
    KEY = "CRYPTOPANIC_API_KEY"

    def __init__(
        self,
        base_url: str = "https://cryptopanic.com/api",
        scorer: NewsScorer | None = None,
        max_pages: int = 100,
        **client: object,
    ) -> None:
        self.http = JsonClient(
            base_url, params={"auth_token": api_key(self.KEY)}, key_variable=self.KEY, **client
        )
        self.scorer = scorer
        self.max_pages = max_pages

    def items(self, asset: str, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        rows: list[dict] = []
        page = self.http.get(
            "developer/v2/posts/", {"currencies": asset.upper(), "public": "true", "kind": "news"}
        )
        for _ in range(self.max_pages):
            expect(
                isinstance(page, dict) and isinstance(page.get("results"), list),
                "posts",
                "no results list",
            )
            for post in page["results"]:
                expect("published_at" in post, "posts", f"item without published_at: {post}")
                text = " ".join(str(post.get(k) or "") for k in ("title", "description")).strip()
                rows.append({"published": utc(post["published_at"]), "text": text})
            oldest = min((r["published"] for r in rows), default=None)
            following = page.get("next")
            if not following or not page["results"] or (oldest is not None and oldest < utc(start)):
                break
            page = self.http.get(following)
        frame = pd.DataFrame(rows, columns=["published", "text"])
        if frame.empty:
            return frame
        keep = (frame["published"] >= utc(start)) & (frame["published"] <= utc(end))
        return frame[keep].drop_duplicates().sort_values("published").reset_index(drop=True)

    def fetch(self, asset: str, start: pd.Timestamp, end: pd.Timestamp) -> dict[str, pd.Series]:
        if self.scorer is None:
            self.scorer = NewsScorer()
        return news_channels(self.items(asset, start, end), start, end, self.scorer)
