"""Train a logistic regression on scikit-learn's bundled iris data (no download)."""

from metaflow import FlowSpec, step


class IrisModelFlow(FlowSpec):
    @step
    def start(self):
        from sklearn.datasets import load_iris
        from sklearn.linear_model import LogisticRegression

        data = load_iris()
        self.model = LogisticRegression(max_iter=500).fit(data.data, data.target)
        self.feature_names = list(data.feature_names)
        self.classes = [str(name) for name in data.target_names]
        self.accuracy = float(self.model.score(data.data, data.target))
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    IrisModelFlow()
