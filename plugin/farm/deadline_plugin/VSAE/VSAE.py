"""Deadline 10 plugin for vsae farm jobs: runs the job's vsae command line for each task (frames put where the
arguments say <STARTFRAME> and <ENDFRAME>) and turns vsae's "Progress: 42%" lines into the task's progress and its
"vsae: error: ..." line into the task's failure. Copy the VSAE folder into the repository's custom/plugins."""

from Deadline.Plugins import DeadlinePlugin


def GetDeadlinePlugin():
    return VsaePlugin()


def CleanupDeadlinePlugin(deadlinePlugin):
    deadlinePlugin.Cleanup()


class VsaePlugin(DeadlinePlugin):
    def __init__(self):
        super().__init__()
        self.InitializeProcessCallback += self.InitializeProcess
        self.RenderExecutableCallback += self.RenderExecutable
        self.RenderArgumentCallback += self.RenderArgument

    def Cleanup(self):
        for handler in self.StdoutHandlers:
            del handler.HandleCallback
        del self.InitializeProcessCallback
        del self.RenderExecutableCallback
        del self.RenderArgumentCallback

    def InitializeProcess(self):
        self.SingleFramesOnly = False
        self.StdoutHandling = True
        self.PopupHandling = False
        self.SetEnvironmentVariable("VSAE_PROGRESS", "plain")
        self.AddStdoutHandlerCallback(r"Progress: (\d+)%").HandleCallback += self.HandleProgress
        self.AddStdoutHandlerCallback(r"vsae: error: (.*)").HandleCallback += self.HandleError

    def RenderExecutable(self):
        return self.GetPluginInfoEntry("Executable")

    def RenderArgument(self):
        arguments = self.GetPluginInfoEntry("Arguments")
        return (arguments.replace("<STARTFRAME>", str(self.GetStartFrame()))
                .replace("<ENDFRAME>", str(self.GetEndFrame())))

    def HandleProgress(self):
        self.SetProgress(float(self.GetRegexMatch(1)))

    def HandleError(self):
        self.FailRender(self.GetRegexMatch(1))
