"""Fire control: threat evaluation, intercept solutions, software interlocks, engagements.

- ``threat``: order confirmed tracks by time to closest approach to the defended point
- ``solution``: constant-velocity intercept for the launcher (pointing with lead, time of flight)
- ``interlocks``: every software interlock as one pure function of the loop state
- ``engagement``: the engagement state machine that turns all of it into rig commands
"""
