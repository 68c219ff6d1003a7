"""The Kubernetes API stand-in lives in bot/demo/simulated/kube_api.py (the demo's simulated cluster)."""

from bot.demo.simulated.kube_api import KubeApiStandIn, ServedRequest

__all__ = ["KubeApiStandIn", "ServedRequest"]
