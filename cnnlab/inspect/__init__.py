"""Look inside models: summaries, diagrams, curves, filters, feature maps, Grad-CAM, confusion, reports."""

from cnnlab.inspect.cam import grad_cam, plot_grad_cam, plot_saliency, saliency
from cnnlab.inspect.confusion import confusion_matrix, per_class_metrics, plot_confusion_matrix, plot_misclassified
from cnnlab.inspect.curves import plot_history
from cnnlab.inspect.diagram import plot_model
from cnnlab.inspect.diagram_graph import diagram_graph
from cnnlab.inspect.feature_maps import feature_maps, plot_feature_maps
from cnnlab.inspect.filters import plot_filters, plot_weights_histogram
from cnnlab.inspect.report import report
from cnnlab.inspect.summary import receptive_fields, render_summary, summary_rows

__all__ = [
    "confusion_matrix", "diagram_graph", "feature_maps", "grad_cam", "per_class_metrics", "plot_confusion_matrix",
    "plot_feature_maps", "plot_filters", "plot_grad_cam", "plot_history", "plot_misclassified", "plot_model",
    "plot_saliency", "plot_weights_histogram", "receptive_fields", "render_summary", "report", "saliency",
    "summary_rows",
]
