"""The upstream ETL: write one day of viewing and publish ``etl.viewing_daily.done``.

    uv run pipelines/content_decisions/etl.py --date 2026-03-30
    uv run pipelines/content_decisions/etl.py --orchestrate   # the next day, then the chain

Plays the partner team whose ETL feeds the chain: on a fresh profile it seeds the sample
world, then replaces the day's partition of ``etl.viewing_daily`` and publishes the event
``{"date": D}``. ``--revision N`` restates a day with other counts. The logic lives in
``content_decisions._etl``.
"""

import content_decisions as cd

if __name__ == "__main__":
    cd.etl_command()
