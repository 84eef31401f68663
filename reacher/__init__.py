"""MuJoCo re-creation of Unity ML-Agents 0.4's 20-arm Reacher (the Udacity course build)."""
