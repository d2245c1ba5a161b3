"""Serve the iris model: a sync prediction and an async explanation."""

from pydantic import BaseModel, Field

from mlplatform.hosting import Context, Service

svc = Service("iris", artifacts="IrisModelFlow/latest_successful")


class Flower(BaseModel):
    features: list[float] = Field(min_length=4, max_length=4, description="sepal/petal cm")


class Prediction(BaseModel):
    label: str
    probabilities: dict[str, float]


class Explanation(BaseModel):
    label: str
    contributions: dict[str, float]


@svc.endpoint("/predict")
def predict(flower: Flower, ctx: Context) -> Prediction:
    """The most likely species and every species' probability."""
    model, classes = ctx.artifacts.model, ctx.artifacts.classes
    probabilities = model.predict_proba([flower.features])[0]
    best = int(probabilities.argmax())
    return Prediction(
        label=classes[best],
        probabilities=dict(zip(classes, map(float, probabilities), strict=True)),
    )


@svc.endpoint("/explain", mode="async")
def explain(flower: Flower, ctx: Context) -> Explanation:
    """Each feature's contribution (coefficient x value) to the predicted species' score."""
    model, classes = ctx.artifacts.model, ctx.artifacts.classes
    best = int(model.predict([flower.features])[0])
    contributions = model.coef_[best] * flower.features
    return Explanation(
        label=classes[best],
        contributions=dict(
            zip(ctx.artifacts.feature_names, map(float, contributions), strict=True)
        ),
    )
